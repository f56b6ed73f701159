"""LimitLab's Hydra sweeper: the basic sweeper, without composing twice what preflight checked."""
