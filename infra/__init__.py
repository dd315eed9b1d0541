"""The studiolab CDK app (`python -m infra.app`, see cdk.json). Never imported by runtime code."""
