"""House numbers, house names and flat numbers go; street, locality and postcode stay."""

import pandas as pd
import pytest

from sanitise.services import scrub_address


@pytest.mark.parametrize(
    ("address", "scrubbed"),
    [
        ("5 Acacia Avenue SW1A 1AA", "Acacia Avenue SW1A 1AA"),
        ("12A High Street, Wigan, WN1 1AA", "High Street, Wigan, WN1 1AA"),
        ("12a Church St, Standish", "Church St, Standish"),
        ("3-5 Market Place, Wigan", "Market Place, Wigan"),
        ("3–5 Market Place, Wigan", "Market Place, Wigan"),
        ("3 - 5 Market Place", "Market Place"),
        ("Flat 2, 10 Mill Lane, Standish, WN6 0AA", "Mill Lane, Standish, WN6 0AA"),
        ("Flat 2 10 Mill Lane", "Mill Lane"),
        ("Apt 4B, 7 Church Rd, Leigh", "Church Rd, Leigh"),
        ("Apartment 7, Bridgeman Terrace, Wigan", "Bridgeman Terrace, Wigan"),
        ("Unit 3, Wigan Road, Hindley", "Wigan Road, Hindley"),
        ("Rose Cottage, Mill Lane, Haigh", "Mill Lane, Haigh"),
        ("The Willows, 4 Church Lane, Wigan WN1 2AB", "Church Lane, Wigan WN1 2AB"),
        ("Flat 3, Rose Court, 5 Acacia Avenue, Standish", "Acacia Avenue, Standish"),
        ("Rose Cottage, Haigh, WN2 1PE", "Haigh, WN2 1PE"),
        ("No. 14 Gidlow Lane", "Gidlow Lane"),
        ("Mesnes Park", "Mesnes Park"),
        ("St Helens Road, Leigh", "St Helens Road, Leigh"),
        ("  22   Darlington   Street ,  Wigan ", "Darlington Street, Wigan"),
    ],
)
def test_it_strips_numbers_and_names_and_keeps_street_locality_and_postcode(address, scrubbed):
    assert scrub_address(pd.Series([address])).tolist() == [scrubbed]


def test_it_works_on_a_whole_series_and_keeps_the_index():
    addresses = pd.Series(["5 Acacia Avenue", None, "5 Acacia Avenue"], index=[10, 11, 12])

    scrubbed = scrub_address(addresses)

    assert scrubbed.to_dict() == {10: "Acacia Avenue", 11: "", 12: "Acacia Avenue"}
