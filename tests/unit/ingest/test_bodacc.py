"""BODACC notices: the vendored samples, every source shape, and hostile files."""

from __future__ import annotations

import io
import json
import tarfile
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tradecover.domain.errors import InvalidInput
from tradecover.ingest import bodacc
from tradecover.ingest.bodacc import (
    BodaccAnnouncement,
    ProcedureKind,
    classify_judgment,
    normalise_siren,
    parse_bodacc,
    parse_bodacc_json,
    parse_bodacc_xml,
    parse_pcl_plans_csv,
)

EXTERNAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "external"
BODACC = EXTERNAL / "bodacc"
ODS_SAMPLE = "annuaire_entreprises_ods_v1_annonces_commerciales_880878145.json"
RCS_A_SAMPLE = "dila_RCS-A_BXA20210005_first25avis.xml"
PLANS_SAMPLE = "plansde_pcl_derived_grands_plans_1y.csv"
PROCOL_SAMPLE = "signauxfaibles_procol_altares_format_synthetic.csv"

LIQUIDATION_JUDGMENT = {
    "type": "initial",
    "famille": "Jugement d'ouverture",
    "nature": "Jugement d'ouverture de liquidation judiciaire",
    "date": "2026-08-31",
    "complementJugement": "Jugement prononçant la liquidation judiciaire, "
    "date de cessation des paiements le 9 janvier 2026.",
}


@pytest.fixture
def samples() -> Path:
    if not BODACC.is_dir():
        pytest.skip(f"shared BODACC samples not found at {BODACC}")
    return BODACC


def ods_record(
    number: int = 1,
    *,
    judgment: dict[str, str] | None = None,
    family: str = "collective",
    registre: Any = "880878145,880 878 145",
    **extra: Any,
) -> dict[str, Any]:
    """A flat OpenDataSoft record as the v2.1 API and exports give it."""
    fields: dict[str, Any] = {
        "id": f"A2026017{number:04d}",
        "familleavis": family,
        "typeavis": "annonce",
        "typeavis_lib": "Avis initial",
        "dateparution": "2026-09-04",
        "tribunal": "Tribunal de commerce de Paris",
        "commercant": "Ganymède",
        "registre": registre,
        "jugement": json.dumps(judgment if judgment is not None else LIQUIDATION_JUDGMENT),
    }
    fields.update(extra)
    return fields


def write_json(tmp_path: Path, document: Any, name: str = "ods.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------- samples


EXPECTED_SAMPLES: dict[str, tuple[int, int] | str] = {
    ODS_SAMPLE: (0, 3),  # a radiation and two account filings: no collective notice
    RCS_A_SAMPLE: (0, 25),  # sales and registrations, no judgment
    PLANS_SAMPLE: (544, 0),
    PROCOL_SAMPLE: "ingest.unknown_format",  # an URSSAF/Altares extract, not BODACC
}


def test_every_sample_file_is_known(samples: Path) -> None:
    files = {p.name for p in samples.iterdir() if p.is_file() and p.suffix != ".md"}
    assert files == set(EXPECTED_SAMPLES)


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED_SAMPLES.items()))
def test_each_sample_parses_as_expected(samples: Path, name: str, expected: tuple[int, int] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(InvalidInput) as caught:
            parse_bodacc(samples / name)
        assert caught.value.code == expected
        assert name in caught.value.message
        return
    result = parse_bodacc(samples / name)
    assert (len(result.announcements), result.skipped) == expected


def test_ods_sample_siren_is_read_from_both_spellings_and_the_nested_persons(samples: Path, tmp_path: Path) -> None:
    document = json.loads((samples / ODS_SAMPLE).read_text(encoding="utf-8"))
    for record in document["records"]:
        record["fields"]["familleavis"] = "collective"
        record["fields"]["jugement"] = json.dumps(LIQUIDATION_JUDGMENT)
    result = parse_bodacc_json(write_json(tmp_path, document))

    assert result.skipped == 0
    assert [a.announcement_id for a in result.announcements] == [
        "B20220227446",
        "C202200902528",
        "C202101554392",
    ]
    for announcement in result.announcements:
        assert announcement.sirens == ("880878145",)
        assert announcement.invalid_identifiers == ()
        assert announcement.company_name == "Ganymède"
        assert announcement.kind is ProcedureKind.LIQUIDATION
    assert result.announcements[0].publication_date == date(2022, 11, 23)
    assert result.announcements[0].record == 1
    assert result.announcements[2].record == 3


def test_ods_sample_nested_persons_alone_give_the_siren(samples: Path, tmp_path: Path) -> None:
    document = json.loads((samples / ODS_SAMPLE).read_text(encoding="utf-8"))
    fields = document["records"][0]["fields"]
    fields["familleavis"] = "collective"
    del fields["registre"]
    del fields["commercant"]
    result = parse_bodacc_json(write_json(tmp_path, document))
    first = result.announcements[0]
    assert first.sirens == ("880878145",)  # from listepersonnes, "880 878 145"
    assert first.company_name == "Ganymède"
    assert result.skipped == 2


# ---------------------------------------------------------------- JSON shapes


def test_double_encoded_fields_are_decoded(tmp_path: Path) -> None:
    persons = {
        "personne": [
            {
                "typePersonne": "pm",
                "denomination": "ALPHA",
                "numeroImmatriculation": {"numeroIdentification": "853 479 236"},
            },
            {
                "typePersonne": "pp",
                "nom": "DURAND",
                "prenom": "Marie",
                "numeroImmatriculation": {"numeroIdentificationRCS": "880.878.145"},
            },
        ]
    }
    record = ods_record(registre=["853479236", "853 479 236"], listepersonnes=json.dumps(persons))
    del record["commercant"]
    result = parse_bodacc_json(write_json(tmp_path, {"total_count": 1, "results": [record]}))
    (announcement,) = result.announcements
    assert announcement.sirens == ("853479236", "880878145")
    assert announcement.company_name == "ALPHA"
    assert announcement.family == "Jugement d'ouverture"
    assert announcement.nature == "Jugement d'ouverture de liquidation judiciaire"
    assert announcement.judgment_date == date(2026, 8, 31)
    assert "cessation des paiements" in announcement.complement


@pytest.mark.parametrize(
    "shape",
    ["v1", "v1_list", "v2_0", "v2_1", "export_array", "single_flat", "single_v1"],
)
def test_every_opendatasoft_shape_is_accepted(tmp_path: Path, shape: str) -> None:
    flat = ods_record()
    documents: dict[str, Any] = {
        "v1": {"nhits": 1, "records": [{"recordid": "x", "fields": flat}]},
        "v1_list": [{"recordid": "x", "fields": flat}],
        "v2_0": {"total_count": 1, "records": [{"record": {"id": "x", "fields": flat}}]},
        "v2_1": {"total_count": 1, "results": [flat]},
        "export_array": [flat],
        "single_flat": flat,
        "single_v1": {"recordid": "x", "fields": flat},
    }
    result = parse_bodacc_json(write_json(tmp_path, documents[shape]))
    assert [a.sirens for a in result.announcements] == [("880878145",)]


def test_non_collective_records_are_skipped_and_counted(tmp_path: Path) -> None:
    records = [ods_record(1), ods_record(2, family="dpc"), ods_record(3, family="radiation"), ods_record(4)]
    result = parse_bodacc_json(write_json(tmp_path, {"results": records}))
    assert result.skipped == 2
    assert [a.record for a in result.announcements] == [1, 4]


def test_an_invalid_siren_is_kept_aside_not_lost(tmp_path: Path) -> None:
    record = ods_record(registre="880878146,880 878 146")
    (announcement,) = parse_bodacc_json(write_json(tmp_path, [record])).announcements
    assert announcement.sirens == ()
    assert announcement.invalid_identifiers == ("880878146", "880 878 146")


def test_notice_types_are_normalised(tmp_path: Path) -> None:
    records = [
        ods_record(1, typeavis="rectificatif", typeavis_lib="Avis rectificatif"),
        ods_record(2, typeavis="annulation", typeavis_lib="Avis d'annulation"),
        ods_record(3),
    ]
    announcements = parse_bodacc_json(write_json(tmp_path, records)).announcements
    assert [a.notice_type for a in announcements] == ["rectificatif", "annulation", "initial"]
    assert [a.opens_insolvency for a in announcements] == [True, False, True]
    assert announcements[1].resulting_status is None


# ------------------------------------------------------------- classification


def announce(tmp_path: Path, family: str, nature: str, complement: str = "") -> BodaccAnnouncement:
    judgment = {"famille": family, "nature": nature, "date": "2026-03-02", "complementJugement": complement}
    (announcement,) = parse_bodacc_json(write_json(tmp_path, [ods_record(judgment=judgment)])).announcements
    return announcement


def test_a_liquidation_opening_opens_insolvency(tmp_path: Path) -> None:
    announcement = announce(tmp_path, "Jugement d'ouverture", "Jugement d'ouverture de liquidation judiciaire")
    assert announcement.kind is ProcedureKind.LIQUIDATION
    assert announcement.opens_insolvency
    assert announcement.resulting_status == "liquidation"


def test_a_closure_is_a_closure_and_the_company_ceases(tmp_path: Path) -> None:
    announcement = announce(tmp_path, "Jugement de clôture", "Jugement de clôture pour insuffisance d'actif")
    assert announcement.kind is ProcedureKind.CLOSURE
    assert not announcement.opens_insolvency
    assert announcement.resulting_status == "ceased"


@pytest.mark.parametrize(
    "nature",
    [
        "Jugement prononçant la faillite personnelle",
        "Jugement prononçant l'interdiction de gérer",
        "Jugement prononçant l'interdiction prévue à l'article L. 653-8 du code de commerce",
    ],
)
def test_bans_from_management_say_nothing_about_solvency(tmp_path: Path, nature: str) -> None:
    announcement = announce(tmp_path, "Jugement", nature, "dans la liquidation judiciaire de la société")
    assert announcement.kind is ProcedureKind.OTHER
    assert not announcement.opens_insolvency
    assert announcement.resulting_status is None


def test_a_conversion_into_liquidation_results_in_liquidation(tmp_path: Path) -> None:
    announcement = announce(tmp_path, "Jugement", "Jugement de conversion en liquidation judiciaire")
    assert announcement.kind is ProcedureKind.CONVERSION
    assert announcement.target is ProcedureKind.LIQUIDATION
    assert announcement.opens_insolvency
    assert announcement.resulting_status == "liquidation"


@pytest.mark.parametrize(
    ("family", "nature", "complement", "kind", "target"),
    [
        ("Jugement d'ouverture", "Jugement d'ouverture d'une procédure de sauvegarde", "",
         "safeguard", "safeguard"),
        ("Jugement d'ouverture", "Jugement d'ouverture d'une procédure de sauvegarde accélérée", "",
         "safeguard", "safeguard"),
        ("Jugement d'ouverture", "Jugement d'ouverture d'une procédure de redressement judiciaire", "",
         "receivership", "receivership"),
        ("Jugement d'ouverture", "Jugement d'ouverture de liquidation judiciaire simplifiée", "",
         "liquidation", "liquidation"),
        ("", "JUGEMENT D’OUVERTURE DE LIQUIDATION JUDICIAIRE", "", "liquidation", "liquidation"),
        ("", "jugement d'extension de liquidation judiciaire", "", "liquidation", "liquidation"),
        ("Jugement", "Jugement de conversion de la procédure de sauvegarde en redressement judiciaire", "",
         "conversion", "receivership"),
        ("", "jugement de conversion en liquidation judiciaire de la procédure de sauvegarde", "",
         "conversion", "liquidation"),
        ("Jugement", "Jugement de conversion de la procédure de sauvegarde", "", "conversion", None),
        ("Jugement", "Jugement arrêtant le plan de sauvegarde", "", "plan", "safeguard"),
        ("Jugement", "Jugement modifiant le plan de redressement", "", "plan", "receivership"),
        ("Jugement", "Jugement arrêtant le plan de cession", "", "plan", None),
        ("Jugement", "Jugement prononçant la résolution du plan de redressement et la liquidation judiciaire",
         "", "liquidation", "liquidation"),
        ("Jugement de clôture", "Jugement de clôture pour extinction du passif", "", "closure", None),
        ("Avis de dépôt", "Dépôt de l'état des créances", "liquidation judiciaire", "other", None),
        ("Jugement", "Jugement modifiant la date de cessation des paiements",
         "procédure de liquidation judiciaire ouverte le 3 mars", "other", None),
        ("Jugement", "Arrêt de la cour d'appel infirmant le jugement d'ouverture de liquidation judiciaire",
         "", "other", None),
        # a generic nature: the complement names the procedure
        ("Jugement d'ouverture", "Jugement d'ouverture", LIQUIDATION_JUDGMENT["complementJugement"],
         "liquidation", "liquidation"),
        ("", "", "", "other", None),
    ],
)  # fmt: skip
def test_classification_table(family: str, nature: str, complement: str, kind: str, target: str | None) -> None:
    found_kind, found_target = classify_judgment(family, nature, complement)
    assert found_kind.value == kind
    assert (found_target.value if found_target else None) == target


def test_a_plan_keeps_the_debtor_in_its_procedure(tmp_path: Path) -> None:
    announcement = announce(tmp_path, "Jugement", "Jugement arrêtant le plan de redressement")
    assert announcement.kind is ProcedureKind.PLAN
    assert not announcement.opens_insolvency
    assert announcement.resulting_status == "receivership"


# ---------------------------------------------------------------- SIRENs


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("880878145", "880878145"),
        ("880 878 145", "880878145"),
        ("880.878.145", "880878145"),
        ("880\u00a0878\u00a0145", "880878145"),
        ("94130994", "094130994"),  # lost its leading zero in a spreadsheet
        ("325175", "000325175"),
        ("880878146", None),  # bad check digit
        ("0", None),
        ("000000000", None),
        ("RCS Paris", None),
        ("1234567890", None),
    ],
)
def test_normalise_siren(raw: str, expected: str | None) -> None:
    assert normalise_siren(raw) == expected


def test_lost_leading_zero_is_restored(tmp_path: Path) -> None:
    (announcement,) = parse_bodacc_json(write_json(tmp_path, [ods_record(registre="94130994")])).announcements
    assert announcement.sirens == ("094130994",)


# --------------------------------------------------------------- bad JSON


def test_truncated_json_is_refused_naming_the_file(tmp_path: Path) -> None:
    text = json.dumps({"results": [ods_record()]})
    path = tmp_path / "truncated.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_json(path)
    assert caught.value.code == "ingest.bad_json"
    assert caught.value.context["file"] == "truncated.json"
    assert "truncated.json" in str(caught.value)


def test_a_bad_publication_date_names_record_and_field(tmp_path: Path) -> None:
    records = [ods_record(1), ods_record(2, dateparution="2026-02-30")]
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_json(write_json(tmp_path, records, "dated.json"))
    error = caught.value
    assert error.code == "ingest.bad_field"
    assert error.field == "dateparution"
    assert error.context == {"file": "dated.json", "record": 2}
    assert "record 2" in error.message


def test_a_bad_judgment_date_names_the_nested_field(tmp_path: Path) -> None:
    judgment = dict(LIQUIDATION_JUDGMENT, date="31 brumaire an VIII")
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_json(write_json(tmp_path, [ods_record(judgment=judgment)]))
    assert caught.value.field == "jugement.date"
    assert caught.value.context["record"] == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-01-04", date(2021, 1, 4)),
        ("04/01/2021", date(2021, 1, 4)),
        ("1er février 2021", date(2021, 2, 1)),
    ],
)
def test_judgment_dates_in_french_spellings(tmp_path: Path, raw: str, expected: date) -> None:
    judgment = dict(LIQUIDATION_JUDGMENT, date=raw)
    (announcement,) = parse_bodacc_json(write_json(tmp_path, [ods_record(judgment=judgment)])).announcements
    assert announcement.judgment_date == expected


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"jugement": "{not json"}, "jugement"),
        ({"jugement": json.dumps(["a list"])}, "jugement"),
        ({"listepersonnes": '{"personne": '}, "listepersonnes"),
        ({"registre": 880878145}, "registre"),
        ({"id": None}, "id"),
        ({"id": "A" * 65}, "id"),
        ({"typeavis": "brouillon"}, "typeavis"),
        ({"tribunal": {"nom": "Paris"}}, "tribunal"),
    ],
)
def test_malformed_record_fields_are_named(tmp_path: Path, change: dict[str, Any], field: str) -> None:
    record = ods_record()
    record.update(change)
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_json(write_json(tmp_path, [ods_record(1), record]))
    assert caught.value.field == field
    assert caught.value.context["record"] == 2


def test_a_record_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_json(write_json(tmp_path, [ods_record(), "oops"]))
    assert caught.value.context["record"] == 2


def test_json_that_is_no_bodacc_answer_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_json(write_json(tmp_path, {"hello": "world"}))
    assert caught.value.code == "ingest.unknown_format"


def test_deeply_nested_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_json(path)
    assert caught.value.code == "ingest.bad_json"


def test_oversized_files_are_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_json(tmp_path, [ods_record()])
    monkeypatch.setattr(bodacc, "MAX_BODACC_BYTES", 100)
    for parse in (parse_bodacc_json, parse_bodacc):
        with pytest.raises(InvalidInput) as caught:
            parse(path)
        assert caught.value.code == "ingest.too_large"


# ------------------------------------------------------------------ DILA XML


def pcl_xml(*notices: str, root: str = "PCL_REDIFF", parution: str = "20210001") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f"<{root}><parution>{parution}</parution><dateParution>2021-01-04</dateParution>"
        f"<annonces>{''.join(notices)}</annonces></{root}>"
    )


def pcl_notice(
    number: int,
    body: str,
    *,
    notice_type: str = "annonce",
    judgment_tag: str = "jugement",
    nature: str = "Jugement d'ouverture de liquidation judiciaire",
    family: str = "Jugement d'ouverture",
    when: str = "2020-12-15",
) -> str:
    return (
        f"<annonce><typeAnnonce><{notice_type}/></typeAnnonce><nojo>0202BP2021A{number:04d}</nojo>"
        f"<numeroAnnonce>{number}</numeroAnnonce><numeroDepartement>75</numeroDepartement>"
        f"<tribunal>Tribunal de commerce de Paris</tribunal>{body}"
        f"<{judgment_tag}><famille>{family}</famille><nature>{nature}</nature><date>{when}</date>"
        f"<complementJugement>Date de cessation des paiements le 1er décembre 2020.</complementJugement>"
        f"</{judgment_tag}></annonce>"
    )


COMPANY = (
    "<personneMorale><denomination>GANYMEDE</denomination></personneMorale>"
    "<numeroImmatriculation><numeroIdentificationRCS>880 878 145</numeroIdentificationRCS>"
    "<codeRCS>RCS</codeRCS><nomGreffeImmat>Paris</nomGreffeImmat></numeroImmatriculation>"
)
PERSON = (
    "<personnePhysique><nom>BAS</nom><prenom>Freddy</prenom><nomUsage>HAUT</nomUsage></personnePhysique>"
    "<numeroImmatriculation><numeroIdentificationRCS>539 217 455</numeroIdentificationRCS>"
    "</numeroImmatriculation>"
)
PCL_DOCUMENT = pcl_xml(
    pcl_notice(1, COMPANY),
    pcl_notice(
        2,
        PERSON,
        notice_type="rectificatif",
        family="Jugement de clôture",
        nature="Jugement de clôture pour insuffisance d'actif",
        when="15 décembre 2020",
    ),
    pcl_notice(3, COMPANY, notice_type="annulation", judgment_tag="jugementAnnule"),
    pcl_notice(4, "<personneMorale><denomination>NON INSCRITE</denomination></personneMorale>"),
)


def check_pcl(announcements: list[BodaccAnnouncement]) -> None:
    assert [a.announcement_id for a in announcements] == [f"A20210001{n}" for n in (1, 2, 3, 4)]
    first, second, third, fourth = announcements
    assert first.sirens == ("880878145",)
    assert first.company_name == "GANYMEDE"
    assert first.tribunal == "Tribunal de commerce de Paris"
    assert first.publication_date == date(2021, 1, 4)
    assert first.judgment_date == date(2020, 12, 15)
    assert first.kind is ProcedureKind.LIQUIDATION
    assert first.opens_insolvency
    assert second.sirens == ("539217455",)
    assert second.company_name == "Freddy HAUT"
    assert second.notice_type == "rectificatif"
    assert second.kind is ProcedureKind.CLOSURE
    assert second.resulting_status == "ceased"
    assert third.notice_type == "annulation"
    assert third.kind is ProcedureKind.LIQUIDATION
    assert not third.opens_insolvency
    assert fourth.sirens == ()


def test_pcl_xml_notices(tmp_path: Path) -> None:
    path = tmp_path / "PCL_BXA20210001.xml"
    path.write_text(PCL_DOCUMENT, encoding="utf-8")
    result = parse_bodacc_xml(path)
    assert result.skipped == 0
    check_pcl(result.announcements)
    assert [a.source for a in result.announcements] == ["PCL_BXA20210001.xml"] * 4


def tar_bytes(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(("suffix", "mode"), [(".taz", "w:gz"), (".tar", "w")])
def test_pcl_archive_holding_one_xml(tmp_path: Path, suffix: str, mode: str) -> None:
    path = tmp_path / f"PCL_BXA20210001{suffix}"
    path.write_bytes(tar_bytes({"PCL_BXA20210001.xml": PCL_DOCUMENT.encode()}, mode))
    for parse in (parse_bodacc_xml, parse_bodacc):
        result = parse(path)
        check_pcl(result.announcements)


def test_archive_with_two_xml_files_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "two.taz"
    data = PCL_DOCUMENT.encode()
    path.write_bytes(tar_bytes({"a.xml": data, "b.xml": data}))
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_xml(path)
    assert caught.value.code == "ingest.bad_archive"


def test_archive_links_are_never_followed(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("PCL_BXA20210001.xml")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    path = tmp_path / "link.taz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_xml(path)
    assert caught.value.code == "ingest.bad_archive"


def test_archive_member_over_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.taz"
    path.write_bytes(tar_bytes({"PCL_BXA20210001.xml": PCL_DOCUMENT.encode()}))
    monkeypatch.setattr(bodacc, "MAX_BODACC_BYTES", len(PCL_DOCUMENT) - 1)
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_xml(path)
    assert caught.value.code == "ingest.too_large"


def test_corrupt_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.taz"
    path.write_bytes(b"\x1f\x8b" + b"\x00" * 100)
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_xml(path)
    assert caught.value.code == "ingest.bad_archive"


def test_rcs_a_sample_is_skipped_but_counted(samples: Path) -> None:
    result = parse_bodacc_xml(samples / RCS_A_SAMPLE)
    assert result.announcements == []
    assert result.skipped == 25


def test_rcs_a_notice_carrying_a_judgment_is_kept(samples: Path, tmp_path: Path) -> None:
    text = (samples / RCS_A_SAMPLE).read_text(encoding="utf-8")
    judgment = (
        "<jugement><famille>Jugement d'ouverture</famille>"
        "<nature>Jugement d'ouverture d'une procédure de redressement judiciaire</nature>"
        "<date>2021-01-05</date></jugement></avis>"
    )
    path = tmp_path / "rcs_a.xml"
    path.write_text(text.replace("</avis>", judgment, 1), encoding="utf-8")
    result = parse_bodacc_xml(path)
    assert result.skipped == 24
    (announcement,) = result.announcements
    # numeroIdentification (2021 schema); the previous owner's number is not the debtor's.
    assert announcement.sirens == ("892606575",)
    assert announcement.company_name == "BELLEVUE"
    assert announcement.announcement_id == "A202100051"
    assert announcement.kind is ProcedureKind.RECEIVERSHIP
    assert announcement.publication_date == date(2021, 1, 8)


XXE = """<?xml version="1.0"?>
<!DOCTYPE PCL_REDIFF [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<PCL_REDIFF><parution>20210001</parution><dateParution>2021-01-04</dateParution><annonces>
<annonce><numeroAnnonce>1</numeroAnnonce><tribunal>&secret;</tribunal></annonce></annonces></PCL_REDIFF>
"""
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n<PCL_REDIFF>&lol9;</PCL_REDIFF>\n"
)
PLAIN_DOCTYPE = '<?xml version="1.0"?>\n<!DOCTYPE PCL_REDIFF SYSTEM "http://example.invalid/pcl.dtd">\n<PCL_REDIFF/>'


@pytest.mark.parametrize(("name", "text"), [("xxe.xml", XXE), ("lolz.xml", BILLION_LAUGHS), ("dtd.xml", PLAIN_DOCTYPE)])
def test_hostile_xml_is_refused(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    for parse in (parse_bodacc_xml, parse_bodacc):
        with pytest.raises(InvalidInput) as caught:
            parse(path)
        assert caught.value.code == "ingest.unsafe_xml"
        assert caught.value.context["file"] == name
        assert name in caught.value.message


def test_hostile_xml_inside_an_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "PCL_BXA20210009.taz"
    path.write_bytes(tar_bytes({"PCL_BXA20210009.xml": XXE.encode()}))
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_xml(path)
    assert caught.value.code == "ingest.unsafe_xml"
    assert "PCL_BXA20210009.taz" in caught.value.message


def test_malformed_xml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text(PCL_DOCUMENT[: len(PCL_DOCUMENT) // 2], encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_xml(path)
    assert caught.value.code == "ingest.bad_xml"
    assert caught.value.context["file"] == "broken.xml"


def test_unknown_xml_root_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text("<rss><channel/></rss>", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_xml(path)
    assert caught.value.code == "ingest.unknown_format"


def test_xml_bad_judgment_date_names_record_and_field(tmp_path: Path) -> None:
    path = tmp_path / "PCL_BXA20210002.xml"
    path.write_text(pcl_xml(pcl_notice(1, COMPANY), pcl_notice(2, COMPANY, when="2020-15-45")), encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_xml(path)
    assert caught.value.field == "jugement.date"
    assert caught.value.context == {"file": "PCL_BXA20210002.xml", "record": 2}


def test_deeply_nested_xml_does_not_exhaust_the_stack(tmp_path: Path) -> None:
    depth = 50_000
    body = "<x>" * depth + "</x>" * depth
    path = tmp_path / "deep.xml"
    path.write_text(pcl_xml(pcl_notice(1, COMPANY + body)), encoding="utf-8")
    (announcement,) = parse_bodacc_xml(path).announcements
    assert announcement.sirens == ("880878145",)


def test_xml_bad_notice_number(tmp_path: Path) -> None:
    path = tmp_path / "PCL_BXA20210004.xml"
    path.write_text(pcl_xml(pcl_notice(1, COMPANY).replace("<numeroAnnonce>1<", "<numeroAnnonce>x<")))
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_xml(path)
    assert caught.value.field == "numeroAnnonce"


def test_xml_without_publication_date_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "PCL_BXA20210003.xml"
    path.write_text(pcl_xml(pcl_notice(1, COMPANY)).replace("<dateParution>2021-01-04</dateParution>", ""))
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc_xml(path)
    assert caught.value.field == "dateParution"


# ---------------------------------------------------------------- plans CSV


def test_plans_csv_gives_every_real_row(samples: Path) -> None:
    result = parse_pcl_plans_csv(samples / PLANS_SAMPLE)
    announcements = result.announcements
    # SOURCES.md says 543; the file holds 544 data rows (its last line has no newline).
    assert len(announcements) == 544
    assert all(a.sirens and not a.invalid_identifiers for a in announcements)
    assert Counter(a.kind.value for a in announcements) == {
        "conversion": 261,
        "liquidation": 153,
        "closure": 127,
        "receivership": 3,
    }
    assert sum(a.opens_insolvency for a in announcements) == 417
    first = announcements[0]
    assert first.sirens == ("345086177",)
    assert first.judgment_date == first.publication_date == date(2021, 4, 14)
    assert first.resulting_status == "liquidation"
    restored = [a for a in announcements if a.sirens == ("094130994",)]
    assert len(restored) == 1
    assert restored[0].nature == "jugement de conversion en liquidation judiciaire"
    assert len({a.announcement_id for a in announcements}) == 544


def test_plans_csv_bad_date_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "plans.csv"
    path.write_text(
        "RCS,DATE,EFFECTIFS,NATURE\n345086177,2021-04-14,51,jugement d'ouverture de liquidation judiciaire\n"
        "414993998,2021-04-31,51,jugement d'ouverture de liquidation judiciaire\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as caught:
        parse_pcl_plans_csv(path)
    assert caught.value.field == "DATE"
    assert caught.value.context == {"file": "plans.csv", "line": 3}


def test_plans_csv_ids_follow_content_not_position(tmp_path: Path) -> None:
    rows = [
        "345086177,2021-04-14,51,jugement d'ouverture de liquidation judiciaire",
        "384353413,2021-04-08,42,jugement d'ouverture de liquidation judiciaire",
        "384353413,2021-04-08,42,jugement de conversion en liquidation judiciaire",
        "345086177,2021-04-14,51,jugement d'ouverture de liquidation judiciaire",
    ]
    forward = tmp_path / "forward.csv"
    forward.write_text("RCS,DATE,EFFECTIFS,NATURE\n" + "\n".join(rows[:3]) + "\n", encoding="utf-8")
    backward = tmp_path / "backward.csv"
    backward.write_text("RCS,DATE,EFFECTIFS,NATURE\n" + "\n".join(reversed(rows)) + "\n", encoding="utf-8")
    ids = {a.announcement_id for a in parse_pcl_plans_csv(forward).announcements}
    reordered = [a.announcement_id for a in parse_pcl_plans_csv(backward).announcements]
    assert len(ids) == 3
    assert set(reordered) - ids == {reordered[0] + "#2"}  # a repeated row keeps a distinct id


def test_plans_csv_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "plans.csv"
    path.write_text("RCS,DATE,EFFECTIFS\n345086177,2021-04-14,51\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        parse_pcl_plans_csv(path)
    assert caught.value.code == "ingest.missing_column"
    assert caught.value.field == "NATURE"


# ----------------------------------------------------------------- dispatch


def test_dispatch_reads_content_not_the_extension(tmp_path: Path) -> None:
    json_path = write_json(tmp_path, [ods_record()], "export.txt")
    assert len(parse_bodacc(json_path).announcements) == 1
    xml_path = tmp_path / "flux.dat"
    xml_path.write_text(PCL_DOCUMENT, encoding="utf-8")
    assert len(parse_bodacc(xml_path).announcements) == 4


def test_dispatch_refuses_what_it_does_not_know(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc(path)
    assert caught.value.code == "ingest.unknown_format"


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_bodacc(tmp_path)
    assert caught.value.code == "ingest.not_a_file"
