"""The acquirer-facing REST API: signed (Standard Webhooks), idempotent, batch ingest."""
