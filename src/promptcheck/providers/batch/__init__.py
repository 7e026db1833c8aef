"""``--batch``: send the calls a run must make through the providers' Batch APIs (half price).

At the start of the item loop, every request that would go to the network (a cassette miss under
the record mode) of an OpenAI or Anthropic model is sent as one batch per model (split at the
APIs' limits), polled to the end, and its answers are recorded into the cassettes; the normal
item loop then replays them. Requests the batch could not answer become ERROR items."""
