"""Reading the user's files safely: what kind of file a path is (symlink loops, FIFOs) and YAML
with its limits on alias expansion and nesting. Every reader uses it: prompt files, case files,
promptfoo configs (formats/), cassettes (providers/) and YAML inside answers (checks/)."""
