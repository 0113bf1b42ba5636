"""The customer search's reading of a query (cti.crm.read_query), the folded names it compares and the masked
phones agents see. Pure."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cti.crm import CustomerQuery, fold_name, mask_phone, read_query


def test_names_fold_without_accents_case_or_punctuation() -> None:
    assert fold_name("Dewi Léstari") == fold_name("DEWI  lestari") == fold_name("dewi-lestari") == "dewi lestari"
    assert fold_name("Ömer Çelik") == "omer celik"
    assert fold_name("Toko 100% Jaya_Abadi") == "toko 100 jaya abadi"
    assert fold_name("I Gusti Ngurah Rai") == "i gusti ngurah rai"
    assert fold_name("O'Brien") == "o brien"
    assert fold_name("Dewi <script>alert(1)</script> Lestari") == "dewi script alert 1 script lestari"
    assert fold_name("😀 %_ ") == ""


@given(st.text(max_size=300))
def test_folding_is_idempotent_bounded_and_never_leaves_a_wildcard(name: str) -> None:
    folded = fold_name(name)
    assert fold_name(folded) == folded
    assert len(folded) <= 200
    assert "%" not in folded and "_" not in folded and "  " not in folded


def test_queries_are_read_as_names_phones_or_customer_numbers() -> None:
    assert read_query("  Dewi   les ") == CustomerQuery(words=("dewi", "les"), e164=None, digits=None, customer_id=None)
    assert read_query("dewi dewi") == CustomerQuery(words=("dewi",), e164=None, digits=None, customer_id=None)
    for phone in ("0812-3456-7890", "+62 812 3456 7890", "6281234567890", "0062 812 3456 7890", "(0812) 34567890"):
        query = read_query(phone)
        assert query is not None and query.e164 == "+6281234567890" and query.kind == "digits", phone
        assert query.words == (), phone
        # Typed as bare digits it may as well be a customer number (4 to 16 digits): both are looked up.
        assert query.customer_id == ("6281234567890" if phone == "6281234567890" else None), phone
    assert read_query("10000004") == CustomerQuery(words=(), e164=None, digits="10000004", customer_id="10000004")
    assert read_query("0812 1000") == CustomerQuery(words=(), e164="+628121000", digits="8121000", customer_id=None)
    assert read_query("081") == CustomerQuery(words=(), e164=None, digits=None, customer_id=None)
    assert read_query("%%") == CustomerQuery(words=(), e164=None, digits=None, customer_id=None)
    assert read_query("%%") is not None and read_query("%%").empty  # type: ignore[union-attr]
    assert read_query("١٢٣٤٥") is not None and read_query("١٢٣٤٥").digits is None  # type: ignore[union-attr]
    for short in ("", "  ", "d", " % "):
        assert read_query(short) is None, short


def test_phones_are_masked_to_the_last_four_digits() -> None:
    assert mask_phone("+6281322000003") == "+62•••••••0003"
    assert mask_phone("+62225550303") == "+62•••••0303"
    assert mask_phone("+61412345004") == "+61•••••5004"
    assert mask_phone("+6512") == "•••••"
