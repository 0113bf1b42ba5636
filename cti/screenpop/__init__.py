"""Screen pop: the caller's record pushed to the agent desktop when a call is offered (issue 5)."""
