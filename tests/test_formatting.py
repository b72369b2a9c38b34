"""One way to write numbers: a real minus sign, percentages beside percentages, powers of ten, mean ± sd."""
from symlib import formatting as f


def _plain(text: str) -> str:
    return text.replace(f.NNBSP, " ")


def test_numbers_read_the_same_everywhere():
    """(A narrow no-break space keeps a number with its unit or power of ten; _plain shows it as a space.)"""
    assert f.number(-0.0104) == "−0.010" and f.number(-0.0001) == "0.000" and f.number(0.5, 2, signed=True) == "+0.50"
    assert _plain(f.sci(9.8e-15)) == "9.8 × 10⁻¹⁵" and f.sig(0.0381) == "0.038"
    assert _plain(f.sig(7.1e-15)) == "7.1 × 10⁻¹⁵"
    assert _plain(f.percent(0.7481)) == "74.8 %" and _plain(f.points(-0.0123)) == "−1.2 points"
    assert f.mean_sd([0.3, 0.45]) == "0.375 ± 0.106" and f.integer(78042) == "78,042"
    assert f.minutes(1620) == "27 min" and f.minutes(45) == "45 s"
    assert f.listing([1.0, 0.0625]) == "1, 0.0625" and f.listing(None) == "—" and f.listing(54000) == "54,000"


def test_text_from_elsewhere_is_written_the_same_way():
    """Claims format their own numbers; the ledger and the chapters pass them through minus()."""
    assert f.minus("-0.010 vs 0.375") == "−0.010 vs 0.375"
    assert _plain(f.minus("standard 8.9e-15, path < 1e-10")) == "standard 8.9 × 10⁻¹⁵, path < 10⁻¹⁰"
    for untouched in ("2^-5", "784-512x3-10", "non-monotonic", "1-22 minutes", "σ-Asym"):
        assert f.minus(untouched) == untouched


def test_html_tables_escape_and_render_bold():
    table = f.html_table(["a", "b"], [["**x** <y>", "`z`"]])
    assert "<strong>x</strong> &lt;y&gt;" in table and "<code>z</code>" in table and table._repr_html_() == table
