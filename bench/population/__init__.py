"""The population engine every gradient-free strategy runs on: policy networks with flat
parameters, compact genome encodings, the rollout worker and its backends, observation
normalisation, and the generation loop (:mod:`bench.population.method`)."""
