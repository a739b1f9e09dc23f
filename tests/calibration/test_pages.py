"""Generated pages are compared by their numbers with a tolerance, never byte for byte."""

from mlsysim_sym.calibration.report import pages_agree


def test_page_comparison_tolerates_the_last_digit_but_not_a_stale_page():
    page = "| a | 87.77 | 2904 | +1.6% |\n| b | 41.25 | 331 | -5.4% |\n"
    assert pages_agree(page, page.replace("87.77", "87.76"))[0]
    assert pages_agree(page, page.replace("2904", "2911"))[0]         # within 1%
    assert not pages_agree(page, page.replace("87.77", "80.1").replace("331", "360"))[0]
    assert not pages_agree(page, page.replace("| b |", "| c |"))[0]
