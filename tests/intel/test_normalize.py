"""Unit tests for intel.normalize: one test (or parametrised table) per canonicalisation rule."""

import contextlib
import pickle
import time

import pytest

from intel.normalize import (
    TYPES,
    NormalizationError,
    detect_type,
    normalize,
    normalize_many,
    refang,
    registered_domain_suffixes,
)


def reason_for(value: str, type_: str | None = None) -> str:
    with pytest.raises(NormalizationError) as info:
        normalize(value, type_)
    return info.value.reason


# --------------------------------------------------------------------------- contract


def test_types_list_is_the_shared_contract():
    assert TYPES == (
        "url",
        "domain",
        "ipv4",
        "ipv6",
        "cidr",
        "md5",
        "sha1",
        "sha256",
        "pdq",
        "email",
        "phone",
        "account",
        "hashtag",
        "keyword",
        "crypto_wallet",
    )


def test_normalization_error_is_a_value_error_with_a_reason_and_the_value():
    with pytest.raises(ValueError) as info:
        normalize("300.1.1.1", "ipv4")
    error = info.value
    assert isinstance(error, NormalizationError)
    assert error.reason.startswith("not a valid IPv4 address")
    assert str(error) == error.reason
    assert error.value == "300.1.1.1"
    assert error.type_ == "ipv4"


def test_normalization_error_names_the_detected_type():
    with pytest.raises(NormalizationError) as info:
        normalize("010.0.0.1")
    assert info.value.type_ == "ipv4"


def test_normalization_error_survives_pickling():
    error = NormalizationError("bad", value="x", type_="md5")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (copy.reason, copy.value, copy.type_) == ("bad", "x", "md5")


def test_unknown_type_is_rejected_with_a_reason():
    assert reason_for("evil.example", "fqdn") == "unknown indicator type 'fqdn'"
    assert reason_for("", "fqdn") == "unknown indicator type 'fqdn'"


# --------------------------------------------------------------------------- refang


@pytest.mark.parametrize(
    ("defanged", "plain"),
    [
        ("hxxp://evil.example/", "http://evil.example/"),
        ("hxxps://evil.example/", "https://evil.example/"),
        ("hXXps://evil.example/", "https://evil.example/"),
        ("HXXP://evil.example/", "http://evil.example/"),
        ("fxp://files.example/", "ftp://files.example/"),
        ("evil[.]example", "evil.example"),
        ("evil(.)example", "evil.example"),
        ("evil{.}example", "evil.example"),
        ("evil[dot]example", "evil.example"),
        ("evil(DOT)example", "evil.example"),
        ("evil [.] example", "evil.example"),
        ("evil\\.example", "evil.example"),
        ("http[:]//evil.example", "http://evil.example"),
        ("http[://]evil.example", "http://evil.example"),
        ("hxxp[://]evil[.]example[/]x", "http://evil.example/x"),
        ("bad[at]evil.example", "bad@evil.example"),
        ("bad(at)evil.example", "bad@evil.example"),
        ("bad [at] evil.example", "bad@evil.example"),
        ("bad[@]evil.example", "bad@evil.example"),
    ],
)
def test_refangs_defanging_tokens(defanged, plain):
    assert refang(defanged) == plain


def test_refang_leaves_prose_dot_and_at_alone():
    text = "meet me at the dot com party"
    assert refang(text) == text


def test_refang_leaves_fxp_alone_unless_it_is_a_scheme():
    assert refang("FXP transfers are old") == "FXP transfers are old"


@pytest.mark.parametrize(
    "wrapped",
    [
        "  evil.example\n",
        '"evil.example"',
        "'evil.example'",
        "<evil.example>",
        "\u201cevil.example\u201d",
    ],
)
def test_refang_trims_whitespace_quotes_and_angle_brackets(wrapped):
    assert refang(wrapped) == "evil.example"


def test_normalize_refangs_before_detecting():
    assert normalize(" <hxxps://Evil[.]Example/a> ") == ("url", "https://evil.example/a")


# --------------------------------------------------------------------------- general rejects


@pytest.mark.parametrize("blank", ["", "   ", "\t\n", "''", "<>"])
def test_rejects_empty_values(blank):
    assert reason_for(blank) == "empty value"


def test_rejects_control_characters():
    assert reason_for("evil\x00.example").startswith("value contains a control character")


def test_rejects_values_longer_than_2048_characters():
    assert reason_for("http://evil.example/" + "a" * 2100) == "value longer than 2048 characters"


def test_rejects_non_string_values():
    assert reason_for(12345).startswith("value must be a string")  # type: ignore[arg-type]


def test_ambiguous_junk_is_not_guessed():
    assert reason_for("hello world").startswith("could not tell what kind of indicator")
    assert reason_for("1.2.3").startswith("could not tell what kind of indicator")


# --------------------------------------------------------------------------- detect_type


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://evil.example/x", "url"),
        ("evil.example", "domain"),
        ("xn--mnchen-3ya.de", "domain"),
        ("münchen.de", "domain"),
        ("192.0.2.1", "ipv4"),
        ("2001:db8::1", "ipv6"),
        ("[2001:db8::1]", "ipv6"),
        ("10.0.0.0/8", "cidr"),
        ("2001:db8::/32", "cidr"),
        ("d41d8cd98f00b204e9800998ecf8427e", "md5"),
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1"),
        ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256"),
        ("bad@evil.example", "email"),
        ("+1 (415) 555-0100", "phone"),
        ("@SomeOne", "account"),
        ("#Scam", "hashtag"),
        ("0x52908400098527886E0F7030069857D2E4169EE7", "crypto_wallet"),
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "crypto_wallet"),
        ("1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "crypto_wallet"),
        ("15oF4uVJwmo4TdGW7VfQxf4qtzCNGH3Ap7Dy7tB5oZ9rtqg8", "crypto_wallet"),
    ],
)
def test_detects_each_type_from_its_shape(value, expected):
    assert detect_type(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "evil.example/login",  # host/path without a scheme is not a URL
        "free money",  # keywords are never detected
        "1.2.3",
        "+12",  # too few digits for a phone
        "#123",  # a hashtag needs a letter
        "@a@b.example",
        "deadbeef",
        "1.2.3.4.5",
        "",
    ],
)
def test_detects_nothing_for_values_that_fit_no_type(value):
    assert detect_type(value) is None


def test_detects_64_hex_characters_as_sha256_never_pdq():
    value = "f" * 64
    assert detect_type(value) == "sha256"
    assert normalize(value, "pdq") == ("pdq", value)


# --------------------------------------------------------------------------- url


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("HTTP://Evil.Example/Path", "http://evil.example/Path"),
        ("http://evil.example./", "http://evil.example/"),
        ("http://evil.example:80/a", "http://evil.example/a"),
        ("https://evil.example:443/a", "https://evil.example/a"),
        ("ftp://files.example:21/a", "ftp://files.example/a"),
        ("http://evil.example:443/a", "http://evil.example:443/a"),
        ("http://evil.example:08080/a", "http://evil.example:8080/a"),
        ("http://evil.example:/a", "http://evil.example/a"),
        ("http://evil.example/a#fragment", "http://evil.example/a"),
        ("http://evil.example/A/B?Q=Yes&x=%2f", "http://evil.example/A/B?Q=Yes&x=%2F"),
        ("http://evil.example/%c3%a9t%C3%A9", "http://evil.example/%C3%A9t%C3%A9"),
        ("http://evil.example/a?", "http://evil.example/a"),
        ("http://evil.example?q=1", "http://evil.example/?q=1"),
        ("https://bücher.example/x", "https://xn--bcher-kva.example/x"),
        ("http://1.2.3.4:8080/x", "http://1.2.3.4:8080/x"),
        ("http://[2001:DB8:0::1]:8080/", "http://[2001:db8::1]:8080/"),
        ("http://[::ffff:192.0.2.1]/", "http://[::ffff:192.0.2.1]/"),
        ("http://intranet/x", "http://intranet/x"),
        ("tcp://198.51.100.7:4444", "tcp://198.51.100.7:4444/"),
    ],
)
def test_url_canonical_form(value, canonical):
    assert normalize(value) == ("url", canonical)


def test_url_empty_path_becomes_slash_so_both_spellings_collide():
    assert normalize("http://evil.example")[1] == normalize("http://evil.example/")[1]


def test_url_keeps_userinfo_verbatim_and_lowercases_only_the_host():
    assert normalize("http://PayPal.com:Secret@EVIL.example/") == (
        "url",
        "http://PayPal.com:Secret@evil.example/",
    )


def test_url_without_scheme_is_not_detected_but_gets_http_when_asked_for():
    assert detect_type("evil.example/login") is None
    assert normalize("evil.example/login", "url") == ("url", "http://evil.example/login")
    assert normalize("//evil.example/x", "url") == ("url", "http://evil.example/x")
    assert normalize("evil.example:8080/x", "url") == ("url", "http://evil.example:8080/x")


def test_url_without_scheme_needs_a_dotted_host():
    assert reason_for("intranet/x", "url") == "URL host must contain at least one dot"
    assert reason_for("mailto:bad@evil.example", "url") == "a URL scheme must be followed by '://'"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("http:///path", "URL has no host"),
        ("http://evil example/", "URL contains whitespace"),
        ("http://evil.example/a b", "URL contains whitespace"),
        ("http://evil.example:99999/", "invalid URL port 99999 (above 65535)"),
        ("http://evil.example:8o/", "invalid URL port '8o'"),
        ("javascript://alert(1)", "unsupported URL scheme 'javascript'"),
        ("http://evil_site!.example/", "URL host contains an invalid character '!'"),
        ("http://010.1.1.1/", None),
        ("http://2130706433/", "not a valid IPv4 address"),
        ("http://[fe80::1/", "URL host has an unclosed '['"),
    ],
)
def test_url_rejects_garbage(value, reason):
    got = reason_for(value, "url")
    if reason is None:
        assert "leading zero" in got
    else:
        assert got == reason


def test_url_rejects_a_canonical_form_longer_than_2048_bytes():
    assert reason_for("e.example/" + "a" * 2035, "url") == "URL longer than 2048 bytes"
    assert reason_for("https://e.example/" + "ü" * 1100, "url") == "URL longer than 2048 bytes"


# --------------------------------------------------------------------------- domain


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("Evil.EXAMPLE", "evil.example"),
        ("evil.example.", "evil.example"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        # full-width letters and dot
        (
            "\uff25\uff36\uff29\uff2c\uff0e\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45",
            "evil.example",
        ),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("i❤.ws", "xn--i-7iq.ws"),
        ("_dmarc.evil.example", "_dmarc.evil.example"),
        ("a-b.c-d.example", "a-b.c-d.example"),
    ],
)
def test_domain_canonical_form(value, canonical):
    assert normalize(value, "domain") == ("domain", canonical)


@pytest.mark.parametrize(
    "value",
    ["site.example", "site.test", "site.invalid", "expyuzz4wqqyqhjn.onion"],
)
def test_special_use_tlds_are_valid_domains(value):
    assert normalize(value) == ("domain", value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("*.evil.example", "wildcards are not allowed in a domain; use the parent domain instead"),
        ("localhost", "domain must contain at least one dot"),
        ("evil..example", "domain has an empty label"),
        ("-evil.example", "domain label starts or ends with a hyphen"),
        ("a" * 64 + ".example", "domain label longer than 63 characters"),
        (("a" * 60 + ".") * 5 + "example", "domain longer than 253 characters"),
        ("evil.123", "domain has an all-numeric top-level label"),
        ("evil!.example", "domain contains an invalid character '!'"),
        ("evil.example/x", "not a domain (contains '/', ':' or '@'); use type 'url' or 'email'"),
    ],
)
def test_domain_rejects_invalid_names(value, reason):
    assert reason_for(value, "domain") == reason


# --------------------------------------------------------------------------- ipv4 / ipv6 / cidr


@pytest.mark.parametrize(
    "value",
    ["10.1.2.3", "192.0.2.1", "0.0.0.0", "127.0.0.1", "255.255.255.255"],  # noqa: S104
)
def test_private_reserved_and_documentation_ipv4_addresses_are_valid(value):
    assert normalize(value) == ("ipv4", value)


def test_ipv4_with_leading_zero_is_rejected_not_read_as_octal():
    reason = reason_for("010.0.0.1")
    assert reason.startswith("not a valid IPv4 address")
    assert "leading zero" in reason


def test_ipv4_octet_above_255_is_rejected():
    assert reason_for("256.1.1.1", "ipv4").startswith("not a valid IPv4 address")


def test_ipv4_with_a_slash_32_is_the_address():
    assert normalize("192.0.2.1/32", "ipv4") == ("ipv4", "192.0.2.1")
    assert reason_for("192.0.2.0/24", "ipv4") == (
        "an IPv4 address has no prefix length; use type 'cidr'"
    )


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("::1", "::1"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("::FFFF:C000:0201", "::ffff:192.0.2.1"),
    ],
)
def test_ipv6_is_compressed_lowercase(value, canonical):
    assert normalize(value) == ("ipv6", canonical)


def test_ipv4_mapped_ipv6_stays_ipv6():
    assert normalize("::ffff:10.0.0.1")[0] == "ipv6"


def test_ipv6_rejects_zone_ids_and_garbage():
    assert reason_for("fe80::1%eth0", "ipv6") == "IPv6 zone ids (%...) are not part of an indicator"
    assert reason_for("2001:db8::g", "ipv6") == "not a valid IPv6 address"


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("10.1.2.3/8", "10.0.0.0/8"),
        ("192.0.2.77/24", "192.0.2.0/24"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("2001:DB8::1/32", "2001:db8::/32"),
    ],
)
def test_cidr_is_written_in_network_form(value, canonical):
    assert normalize(value) == ("cidr", canonical)


def test_slash_32_and_128_stay_cidr_only_when_asked_for():
    assert normalize("192.0.2.1/32") == ("ipv4", "192.0.2.1")
    assert normalize("192.0.2.1/32", "cidr") == ("cidr", "192.0.2.1/32")
    assert normalize("2001:db8::1/128") == ("ipv6", "2001:db8::1")
    assert normalize("2001:db8::1/128", "cidr") == ("cidr", "2001:db8::1/128")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("10.0.0.0", "a CIDR needs a /prefix length"),
        ("10.0.0.0/33", "IPv4 prefix length must be 0-32, got 33"),
        ("2001:db8::/129", "IPv6 prefix length must be 0-128, got 129"),
        ("10.0.0.0/x", "CIDR prefix length must be a number, got 'x'"),
    ],
)
def test_cidr_rejects_bad_prefixes(value, reason):
    assert reason_for(value, "cidr") == reason


# --------------------------------------------------------------------------- hashes


@pytest.mark.parametrize(
    ("type_", "length"), [("md5", 32), ("sha1", 40), ("sha256", 64), ("pdq", 64)]
)
def test_hashes_are_lowercase_hex_of_exact_length(type_, length):
    assert normalize("AB" * (length // 2), type_) == (type_, "ab" * (length // 2))
    assert reason_for("a" * 40 if length != 40 else "a" * 32, type_) == (
        f"{type_} must be {length} hex characters, got {40 if length != 40 else 32}"
    )
    assert reason_for("z" * length, type_) == (
        f"{type_} must contain only hex characters (0-9, a-f)"
    )


def test_sha256_reason_names_the_length_it_got():
    assert reason_for("a" * 40, "sha256") == "sha256 must be 64 hex characters, got 40"


# --------------------------------------------------------------------------- email


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("Bad.Guy@Evil.EXAMPLE", "bad.guy@evil.example"),
        ("mailto:bad@evil.example", "bad@evil.example"),
        ("bad+tag@bücher.example", "bad+tag@xn--bcher-kva.example"),
        ("bad[at]evil[.]example", "bad@evil.example"),
    ],
)
def test_email_is_lowercased_with_a_punycode_domain(value, canonical):
    assert normalize(value) == ("email", canonical)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("a@b@evil.example", "an email address must contain exactly one '@'"),
        ("@evil.example", "email address has an empty local part"),
        ("bad@localhost", "email domain must contain at least one dot"),
        ("bad guy@evil.example", "email local part contains whitespace or a forbidden character"),
        ("bad@[192.0.2.1]", "email addresses with an IP-literal domain are not supported"),
        ("x" * 65 + "@evil.example", "email local part longer than 64 characters"),
    ],
)
def test_email_rejects_malformed_addresses(value, reason):
    assert reason_for(value, "email") == reason


# --------------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("+1 (415) 555-0100", "+14155550100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+49-30-901820", "+4930901820"),
        ("+33.1.23.45.67.89", "+33123456789"),
    ],
)
def test_phone_is_e164(value, canonical):
    assert normalize(value, "phone") == ("phone", canonical)


def test_phone_without_international_prefix_is_rejected():
    assert reason_for("(415) 555-0100", "phone") == (
        "a phone number needs its international prefix (+ or 00)"
    )


def test_phone_rejects_letters_and_impossible_numbers():
    assert reason_for("+1 800 FLOWERS", "phone").startswith("a phone number may only contain")
    assert reason_for("+1 415", "phone") == "not a possible phone number for country code +1"
    assert reason_for("+1 415 555 0100 1234 5678", "phone").startswith(
        "a phone number has at most 15 digits"
    )


def test_phone_is_detected_only_with_a_plus_and_8_to_15_digits():
    assert normalize("+1 (415) 555-0100") == ("phone", "+14155550100")
    assert detect_type("0044 20 7946 0958") is None
    assert detect_type("+1234567") is None
    assert detect_type("+1234567890123456") is None


# --------------------------------------------------------------------------- account / hashtag


def test_account_handle_is_lowercased_with_its_at_sign():
    assert normalize("@Evil_Support.Team") == ("account", "@evil_support.team")
    assert normalize("Evil_Support", "account") == ("account", "@evil_support")


@pytest.mark.parametrize("value", ["@bad-name", "@" + "a" * 31, "@", "@na me"])
def test_account_rejects_handles_outside_the_platform_charset(value):
    assert reason_for(value, "account").startswith("an account handle is 1-30")


def test_account_is_not_detected_for_an_email_like_value():
    assert detect_type("@bad@evil.example") is None


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("#FreeMoney", "#freemoney"),
        ("#Straße", "#strasse"),
        ("#ÉTÉ", "#été"),
        ("#ایران_آزاد", "#ایران_آزاد"),
        ("#भारत", "#भारत"),
        ("#crypto2024", "#crypto2024"),
    ],
)
def test_hashtag_is_casefolded_and_allows_any_script(value, canonical):
    assert normalize(value) == ("hashtag", canonical)


def test_hashtag_needs_a_letter_and_no_punctuation():
    assert reason_for("#2024", "hashtag").startswith("a hashtag is letters")
    assert reason_for("#free-money", "hashtag").startswith("a hashtag is letters")
    assert normalize("FreeMoney", "hashtag") == ("hashtag", "#freemoney")


# --------------------------------------------------------------------------- keyword


def test_keyword_is_casefolded_with_whitespace_collapsed():
    assert normalize("  Free\tMONEY \n now ", "keyword") == ("keyword", "free money now")


def test_keyword_is_taken_literally_not_refanged():
    assert normalize('"Evil[.]Example"', "keyword") == ("keyword", '"evil[.]example"')


def test_keyword_is_never_auto_detected():
    assert detect_type("free money") is None
    assert normalize("free money", "keyword")[0] == "keyword"


def test_keyword_length_is_1_to_200_characters():
    assert normalize("x" * 200, "keyword") == ("keyword", "x" * 200)
    assert reason_for("x" * 201, "keyword") == "a keyword is at most 200 characters, got 201"
    assert reason_for(" \n ", "keyword") == "empty value"


# --------------------------------------------------------------------------- crypto wallets


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        (
            "0x52908400098527886E0F7030069857D2E4169EE7",
            "0x52908400098527886e0f7030069857d2e4169ee7",
        ),
        (
            "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        ),
        (
            "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
            "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
        ),
        ("1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
        (
            "15oF4uVJwmo4TdGW7VfQxf4qtzCNGH3Ap7Dy7tB5oZ9rtqg8",
            "15oF4uVJwmo4TdGW7VfQxf4qtzCNGH3Ap7Dy7tB5oZ9rtqg8",
        ),
        (
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
        ),
    ],
)
def test_crypto_wallets_eth_and_bech32_lowercased_base58_kept(value, canonical):
    assert normalize(value) == ("crypto_wallet", canonical)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0x1234", "an ETH address is '0x' followed by 40 hex characters"),
        ("bc1QAR0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "must not mix upper and lower case"),
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5md", "'bc1' plus 39 or 59 bech32 characters"),
        ("1BoatSLRHtKNngkdXEeobR76b53LETtpy0", "not a recognised wallet address"),
        ("1Boat", "not a recognised wallet address"),
    ],
)
def test_crypto_wallets_reject_bad_charset_and_length(value, reason):
    assert reason in reason_for(value, "crypto_wallet")


# --------------------------------------------------------------------------- helpers


def test_normalize_many_yields_results_and_errors_in_order():
    out = list(normalize_many([("Evil.Example", None), ("999.1.1.1", "ipv4"), ("x", "keyword")]))
    assert out[0] == ("domain", "evil.example")
    assert isinstance(out[1], NormalizationError)
    assert out[1].value == "999.1.1.1"
    assert out[1].type_ == "ipv4"
    assert out[2] == ("keyword", "x")


def test_registered_domain_suffixes_lists_host_and_all_parents():
    assert registered_domain_suffixes("a.b.evil.example") == [
        "a.b.evil.example",
        "b.evil.example",
        "evil.example",
        "example",
    ]


def test_registered_domain_suffixes_normalises_the_host_it_is_given():
    assert registered_domain_suffixes("WWW.Bücher.example.") == [
        "www.xn--bcher-kva.example",
        "xn--bcher-kva.example",
        "example",
    ]


def test_registered_domain_suffixes_gives_ip_hosts_alone_and_nothing_for_empty():
    assert registered_domain_suffixes("192.0.2.1") == ["192.0.2.1"]
    assert registered_domain_suffixes("[2001:db8::1]") == ["[2001:db8::1]"]
    assert registered_domain_suffixes("") == []


# --------------------------------------------------------------------------- performance


@pytest.mark.parametrize(
    "value",
    [
        ":" * 8000 + "g",
        ":" * 8000 + "/g",
        "a." * 4000 + "!",
        "a@" * 4000,
        "http://" + "@" * 8000,
        "http://" + "a@" * 4000 + "!",
        "+" + "1 " * 4000,
        "hxxp[:]//" * 900,
        "[.]" * 2700,
        "1" * 8000,
    ],
)
def test_adversarial_values_are_rejected_quickly_for_every_type(value):
    started = time.perf_counter()
    for type_ in (None, *TYPES):
        with contextlib.suppress(NormalizationError):
            normalize(value, type_)
    assert time.perf_counter() - started < 0.5
