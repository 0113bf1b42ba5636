"""Call scripts chosen by contact reason, customer value, cross-sell, promotion and billing (issue 5)."""
