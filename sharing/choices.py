from django.db import models


class SignatureTier(models.TextChoices):
    """The group an agency signs the ISP in (guidance §2.2.4)."""

    CORE = "core", "Core (central role)"
    ASSOCIATE = "associate", "Associate (occasional, depersonalised only)"
