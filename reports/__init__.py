"""Client reports: the report context, print templates, PDF rendering in the consumer's pool, release,
share links and the client portal."""
