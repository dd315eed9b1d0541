"""CDK stacks of studiolab."""
