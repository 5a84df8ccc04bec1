"""A simulated acquirer + clearing house: its own state (SQLite, never our database),
a status API over HTTP, and a push client that signs like Standard Webhooks.

Started by `manage.py simulate_acquirer`; our app knows it only through HTTP.
"""
