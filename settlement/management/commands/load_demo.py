from django.core.management.base import BaseCommand

from settlement.services.demo import (
    DEMO_AGENT_USER,
    DEMO_MERCHANT_USER,
    DEMO_STAFF_USER,
    DEMO_SUPERVISOR_USER,
    demo_load,
    demo_loaded,
)


class Command(BaseCommand):
    help = "Load demo channels, merchants, logins and swipes (once; a second run only prints the logins)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--swipes", type=int, default=30, help="swipes per merchant")
        parser.add_argument("--poll-base-url", default="", help="the simulated acquirer's base URL")

    def handle(self, *args, seed: int, swipes: int, poll_base_url: str, **options):
        if demo_loaded():
            self.stdout.write("demo data already loaded")
        else:
            demo_load(seed=seed, swipes_per_merchant=swipes, poll_base_url=poll_base_url)
            self.stdout.write("demo data loaded")
        self.stdout.write(f"merchant login: {DEMO_MERCHANT_USER[0]} / {DEMO_MERCHANT_USER[1]}")
        self.stdout.write(f"staff login:    {DEMO_STAFF_USER[0]} / {DEMO_STAFF_USER[1]} (admin)")
        self.stdout.write(f"supervisor:     {DEMO_SUPERVISOR_USER[0]} / {DEMO_SUPERVISOR_USER[1]}")
        self.stdout.write(f"agent:          {DEMO_AGENT_USER[0]} / {DEMO_AGENT_USER[1]}")
