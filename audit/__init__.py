"""The audit trail: `actions` names every action once, `trail` writes the rows."""
