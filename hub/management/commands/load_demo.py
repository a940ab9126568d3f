from django.conf import settings
from django.core.management.base import BaseCommand

from datasets.demo import demo_supplies_queue
from hub.demo import demo_load


class Command(BaseCommand):
    help = (
        "Load the catalogue, the demo partnership (agencies, ISP, one user per role), its "
        "gazetteer, and queue last month's synthetic sample supplies for the worker."
    )

    def handle(self, *args, **options):
        personas = demo_load()
        samples = demo_supplies_queue()
        self.stdout.write(f"Demo partnership loaded: {len(personas)} personas.")
        if samples:
            self.stdout.write(f"{len(samples)} sample supplies queued; the worker processes them.")
        if settings.DEMO:
            self.stdout.write("Sign in at http://127.0.0.1:8000/ as any of these demo users:")
            for persona in personas:
                self.stdout.write(
                    f"  {persona.username:<20} {persona.password:<22} {persona.summary}"
                )
            self.stdout.write("Co-ordinators and DLOs then type a code: the sign-in page shows it.")
        else:
            self.stdout.write("Not in demo mode: the personas have no password; use a reset.")
