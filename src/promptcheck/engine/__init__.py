"""The engine: one ItemPlan in, one typed ItemResult out. Plain classes; never imports pytest."""
