"""HTTP API plumbing: request/response models, route table, error mapping, OpenAPI, docs."""
