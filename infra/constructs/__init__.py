"""Reusable CDK constructs of studiolab."""
