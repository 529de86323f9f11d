"""A client's job profile: title and responsibilities (requirements come with a later issue)."""
