"""Alarms and where they go: an SNS topic (optional e-mail subscription from the context key
`studiolab:alarmEmail`) as the action of every alarm: DLQ depth, failed crawl executions,
Lambda errors and throttles, API 5XX."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.nag import ack

PERIOD = Duration.minutes(5)


class Alarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dlq: sqs.IQueue,
        state_machine: sfn.IStateMachine,
        functions: Mapping[str, lambda_.IFunction],
        rest_api: apigw.RestApi,
        email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Topic", display_name="studiolab alarms", enforce_ssl=True)
        ack(
            self.topic,
            "AwsSolutions-SNS2",
            "CloudWatch alarm actions cannot publish to a topic encrypted with the AWS managed "
            "SNS key; alarm notifications carry no data beyond the alarm's name and state.",
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.alarms: list[cloudwatch.Alarm] = []
        self._alarm(
            dlq.metric_approximate_number_of_messages_visible(period=PERIOD),
            "DlqDepthAlarm",
            "Failed async invocations",
        )
        self._alarm(
            state_machine.metric_failed(period=PERIOD),
            "CrawlFailedAlarm",
            "Crawl executions failed",
        )
        for name, function in functions.items():
            self._alarm(
                function.metric_errors(period=PERIOD), f"{name}ErrorsAlarm", f"{name} Lambda errors"
            )
            self._alarm(
                function.metric_throttles(period=PERIOD),
                f"{name}ThrottlesAlarm",
                f"{name} Lambda throttles",
            )
        self._alarm(rest_api.metric_server_error(period=PERIOD), "Api5xxAlarm", "API 5XX responses")

    def _alarm(self, metric: cloudwatch.Metric, construct_id: str, description: str) -> None:
        alarm = metric.create_alarm(
            self,
            construct_id,
            alarm_description=description,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        self.alarms.append(alarm)
