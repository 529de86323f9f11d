"""Agencies (tenants), users and roles, clients, sign-in, access policies and tenant scoping."""
