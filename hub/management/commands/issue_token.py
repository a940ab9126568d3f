from django.core.management.base import BaseCommand, CommandError

from hub.models import User
from hub.services import TokenRefused, token_issue


class Command(BaseCommand):
    help = "Issue a new API token for a user (the old one stops working); printed on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            user = User.objects.get(username=username, is_active=True)
        except User.DoesNotExist as error:
            raise CommandError(f"No active user named {username!r}.") from error
        try:
            key = token_issue(user=user, acting_user=None, system="issue_token")
        except TokenRefused as refusal:
            raise CommandError(f"No token for {username}: {refusal}") from refusal
        self.stdout.write(f"API token for {username} (send as 'Authorization: Token <key>'):")
        self.stdout.write(key)
