"""The audit trail: every change and every vendor action, secrets redacted."""
