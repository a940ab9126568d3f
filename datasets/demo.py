"""Sample supplies for the demo partnership: SYNTHETIC records, processed by the real pipeline.

Last month's police offences and victims, council ASB and A&E assault attendances, made from a
fixed seed on the demo's real WN postcodes and its synthetic addresses and places. Locations
come in every form suppliers use (coordinates, addresses, postcodes, named places, some
missing) and a few rows are wrong on purpose, so the reports have something to show.
"""

from __future__ import annotations

import csv
import datetime
import io

import numpy as np
import pandas as pd
from django.utils import timezone

from datasets.choices import SupplyFrequency
from datasets.models import Dataset, Supply
from datasets.services.schedule import schedule_set
from datasets.services.supplies import supply_create
from hub.models import Agency, Partnership, User
from hub.uploads import encrypted_upload
from sanitise.demo import demo_reference

SEED = 20260401
# Burglary in a dwelling (028/01) and criminal damage to a dwelling (058A) feed the
# Vulnerable Localities Index.
OFFENCE_CODES = ["105A", "105B", "008N", "028/01", "030/01", "045/00", "058A", "049/00"]
ASB_TYPES = ["Noise nuisance", "Rowdy behaviour", "Graffiti", "Vandalism", "Flytipping"]


def last_month() -> tuple[datetime.date, datetime.date]:
    first_of_this_month = timezone.localdate().replace(day=1)
    end = first_of_this_month - datetime.timedelta(days=1)
    return end.replace(day=1), end


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8")


def _when(rng, count: int, start: datetime.date, end: datetime.date, night: float):
    """Dates across the period; times that cluster at night for a share ``night`` of rows."""
    days = rng.integers(0, (end - start).days + 1, count)
    dates = pd.to_datetime(start) + pd.to_timedelta(days, unit="D")
    hours = np.where(rng.random(count) < night, rng.choice([21, 22, 23, 0, 1, 2], count),
                     rng.integers(8, 21, count))  # fmt: skip
    minutes = rng.integers(0, 60, count)
    times = pd.Series(hours).map("{:02d}".format) + ":" + pd.Series(minutes).map("{:02d}".format)
    return dates.strftime("%d/%m/%Y"), times


def _locations(rng, count: int, reference) -> pd.DataFrame:
    """Addresses, postcodes and coordinates in the mix suppliers send."""
    picks = reference.addresses.sample(count, random_state=int(rng.integers(1 << 31)))
    kind = rng.choice(
        ["coordinates", "address", "postcode", "none"], count, p=[0.4, 0.3, 0.28, 0.02]
    )
    frame = pd.DataFrame(
        {
            "address": np.where(kind == "address", picks["address"], ""),
            "postcode": np.where(np.isin(kind, ["address", "postcode"]), picks["postcode"], ""),
            "easting": np.where(
                kind == "coordinates", picks["easting"].astype(int).astype(str), ""
            ),
            "northing": np.where(
                kind == "coordinates", picks["northing"].astype(int).astype(str), ""
            ),
        }
    )
    return frame


def demo_sample_files(period: tuple[datetime.date, datetime.date]) -> dict[str, pd.DataFrame]:
    """The sample supplies' contents, by dataset slug."""
    rng = np.random.default_rng(SEED)
    reference = demo_reference()
    start, end = period

    offences = 400
    dates, times = _when(rng, offences, start, end, night=0.45)
    offence = pd.DataFrame(
        {
            "Crime reference number": [f"WN/{start:%y%m}/{n:05d}" for n in range(1, offences + 1)],
            "HO offence code": rng.choice(OFFENCE_CODES, offences),
            "Date committed from": dates,
            "Time committed from": times,
            "flag_alcohol": rng.choice(["Y", "N"], offences, p=[0.3, 0.7]),
            "flag_domestic": rng.choice(["Y", "N"], offences, p=[0.2, 0.8]),
        }
    ).join(_locations(rng, offences, reference))
    offence.loc[7, "Date committed from"] = "31/02/2026"  # a row the report rejects

    victims = offence.sample(frac=0.6, random_state=1)
    victim = pd.DataFrame(
        {
            "crime_ref": victims["Crime reference number"].to_numpy(),
            "gender": rng.choice(["M", "F", "U"], len(victims), p=[0.5, 0.45, 0.05]),
            "age": rng.integers(16, 80, len(victims)).astype(str),
            "association_with_offender": rng.choice(
                ["stranger", "acquaintance", "partner", "ex-partner", "family"], len(victims)
            ),
            "postcode": reference.addresses["postcode"]
            .sample(len(victims), random_state=2)
            .to_numpy(),
        }
    )

    asb_count = 250
    dates, times = _when(rng, asb_count, start, end, night=0.3)
    asb = pd.DataFrame(
        {
            "incident_ref": [f"ASB{start:%y%m}{n:04d}" for n in range(1, asb_count + 1)],
            "incident_type": rng.choice(ASB_TYPES, asb_count),
            "incident_date": dates,
            "incident_time": times,
        }
    ).join(_locations(rng, asb_count, reference))

    attendances = 160
    dates, times = _when(rng, attendances, start, end, night=0.7)
    places = reference.places["name"].to_numpy()
    ae = pd.DataFrame(
        {
            "patient_ref": [f"AE{n:06d}" for n in rng.choice(900000, attendances, replace=False)],
            "age": rng.integers(16, 70, attendances).astype(str),
            "gender": rng.choice(["M", "F"], attendances, p=[0.7, 0.3]),
            "patient_postcode": reference.addresses["postcode"]
            .sample(attendances, random_state=3)
            .to_numpy(),
            "incident_type": "assault",
            "incident_date": dates,
            "incident_time": times,
            "location_type": rng.choice(
                ["street", "licensed_premises", "home", "other"],
                attendances,
                p=[0.4, 0.3, 0.2, 0.1],
            ),
            "location_description": rng.choice(places, attendances),
            "reported_to_police": rng.choice(["Y", "N"], attendances, p=[0.4, 0.6]),
        }
    )
    return {
        "police_crime_offence": offence,
        "police_crime_victim": victim,
        "council_asb": asb,
        "ae_assault": ae,
    }


SUPPLIERS = {
    "police_crime_offence": "police_supplier",
    "police_crime_victim": "police_supplier",
    "council_asb": "council_supplier",
    "ae_assault": "health_supplier",
}


def demo_supplies_queue() -> list[Supply]:
    """Supply last month's sample files as the demo suppliers would; idempotent per dataset.

    The worker processes them like any other supply.
    """
    period = last_month()
    created = []
    for slug, frame in demo_sample_files(period).items():
        user = User.objects.get(username=SUPPLIERS[slug])
        agency = Agency.objects.get(memberships__user=user)
        dataset = Dataset.objects.get(slug=slug)
        if Supply.objects.filter(agency=agency, dataset=dataset, period_start=period[0]).exists():
            continue
        created.append(
            supply_create(
                acting_user=user,
                agency=agency,
                dataset=dataset,
                upload=encrypted_upload(name=f"{slug}_{period[0]:%Y_%m}.csv", data=_csv(frame)),
                period_start=period[0],
                period_end=period[1],
                supplier_name=user.get_full_name(),
                supplier_contact=user.email,
                caveats="SYNTHETIC demo data: no real people or events.",
                declared_record_count=len(frame),
            )
        )
    return created


# (agency, dataset, due day): monthly schedules for the datasets of the sample supplies, and
# one the demo never supplies, due on the 1st, so that the schedule shows a missing supply.
DEMO_SCHEDULES = [
    ("Greater Manchester Police (Wigan)", "police_crime_offence", 10),
    ("Greater Manchester Police (Wigan)", "police_crime_victim", 10),
    ("Wigan Council", "council_asb", 10),
    ("Wrightington, Wigan and Leigh NHS Foundation Trust", "ae_assault", 10),
    ("Greater Manchester Fire and Rescue Service", "fire_incident", 1),
]


def demo_schedules_set(*, partnership: Partnership, system: str) -> None:
    """The demo partnership's supply schedule; idempotent."""
    for agency_name, slug, due_day in DEMO_SCHEDULES:
        schedule_set(
            agency=Agency.objects.get(partnership=partnership, name=agency_name),
            dataset=Dataset.objects.get(slug=slug),
            frequency=SupplyFrequency.MONTHLY,
            due_day=due_day,
            acting_user=None,
            system=system,
        )
