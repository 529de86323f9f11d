"""The versioned JSON API for applicant-tracking systems (/api/v1), its keys and its OpenAPI document."""
