"""The CDK app: one environment-agnostic stack, checked by cdk-nag's AwsSolutions pack.

`cdk synth` runs `python -m infra.app` (cdk.json). No context lookups, no Docker, no AWS
credentials: the stack synthesises offline (container images are staged, never built)."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.stacks.studiolab_stack import StudiolabStack

STACK_NAME = "Studiolab"


def build_app(app: cdk.App | None = None) -> tuple[cdk.App, StudiolabStack]:
    """The app with its stack and the cdk-nag plugin (unacknowledged findings fail synth)."""
    app = app or cdk.App()
    stack = StudiolabStack(
        app,
        STACK_NAME,
        description="studiolab: crawl fashion shops into a labelled garment image dataset",
    )
    cdk.Tags.of(app).add("project", "studiolab")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
