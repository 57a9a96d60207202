"""From a traced graph to a runnable plan: autodiff, train passes, lowering."""
