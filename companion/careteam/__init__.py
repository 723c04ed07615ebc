"""The care around a client: contingency-management rewards and test results,
psychoeducation, family links' consents and disclosures, and the client's export of their record."""
