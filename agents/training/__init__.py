"""Training language-model agents on RAMP: SFT on trajectories and DAPO against the environment."""
