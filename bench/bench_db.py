"""A benchmark's own PostgreSQL database on loopback, dropped and created afresh."""

import psycopg

SERVER = "postgresql://postgres@127.0.0.1:5432"


def fresh_database(name: str) -> None:
    """Drop and create database `name`, then migrate it (DJANGO_SETTINGS_MODULE and
    DATABASE_URL must already point at it)."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
