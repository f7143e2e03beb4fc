"""Users, passwords, API tokens, roles and what each role may do."""
