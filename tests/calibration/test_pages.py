"""Generated pages are compared by their numbers with a tolerance, never byte for byte."""

from mlsysim_sym.calibration.report import pages_agree


def test_page_comparison_tolerates_the_last_digit_but_not_a_stale_page():
    page = "| a | 87.77 | 2904 | +1.6% |\n| b | 41.25 | 331 | -5.4% |\n"
    assert pages_agree(page, page.replace("87.77", "87.76"))[0]
    assert pages_agree(page, page.replace("2904", "2911"))[0]         # within 1%
    assert not pages_agree(page, page.replace("87.77", "80.1").replace("331", "360"))[0]
    assert not pages_agree(page, page.replace("| b |", "| c |"))[0]


def test_digits_inside_a_name_are_not_numbers():
    # `v6e512` is a TPU slice in an id, not 6 x 10^512 (which overflowed the comparison)
    page = "| `more-train-tpurecipes-v6e512-llama31-405b` | token/s | 149.5 | 178.5 | +19.4% |\n"
    assert pages_agree(page, page)[0]
    assert not pages_agree(page, page.replace("v6e512", "v6e256"))[0]
