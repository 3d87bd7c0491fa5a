"""Words the pages show for stored values (enum values, error titles), marked for the
message catalogues: `N_` marks a string for extraction and returns it unchanged; the
templates translate it when they show it."""

from __future__ import annotations


def N_(message: str) -> str:
    return message


VALUES = (
    # renewal states
    N_("planned"),
    N_("awaiting_approval"),
    N_("approved"),
    N_("submitting"),
    N_("confirmed"),
    N_("rejected"),
    N_("unknown"),
    N_("reconciling"),
    N_("escalated"),
    N_("declined"),
    # check statuses
    N_("pending"),
    N_("ok"),
    N_("warn"),
    N_("fail"),
    # connection health
    N_("degraded"),
    N_("needs_reauth"),
    N_("misconfigured"),
    # client tiers and statuses
    N_("good"),
    N_("better"),
    N_("best"),
    N_("onboarding"),
    N_("active"),
    N_("archived"),
    # payers
    N_("client_direct"),
    N_("msp_resold"),
    N_("msp_included"),
    # what ends
    N_("subscription"),
    N_("warranty"),
    N_("domain"),
    N_("endpoint"),
    # roles
    N_("admin"),
    N_("technician"),
    N_("client_viewer"),
    N_("client_admin"),
    # check targets
    N_("asset"),
    N_("ip"),
    # support channels
    N_("phone"),
    N_("email"),
    N_("portal"),
    N_("api"),
    # asset kinds
    N_("firewall"),
    N_("printer"),
    N_("server"),
    N_("switch"),
    N_("ap"),
    N_("nas"),
    N_("workstation"),
    N_("ups"),
    N_("pbx"),
    N_("other"),
    # vendor categories
    N_("isp"),
    N_("mail_hosting"),
    N_("dns_hosting"),
    N_("registrar"),
    N_("antivirus"),
    N_("hardware"),
    N_("telephony"),
    N_("software"),
    N_("backup"),
    N_("cloud"),
    N_("distributor"),
    # vendor case severities
    N_("low"),
    N_("normal"),
    N_("high"),
    N_("critical"),
    # quarterly review advice: high, medium, low
    N_("medium"),
    # error pages
    N_("Bad request"),
    N_("Not allowed"),
    N_("Not found"),
    N_("Not possible now"),
    N_("Invalid input"),
    N_("There is nothing here, or it is not yours to see."),
    N_("Your role does not allow this."),
    N_("this form expired or came from another site; reload the page and try again"),
    # password rules (hub.auth.passwords.MESSAGES)
    N_("must be at least 12 characters long"),
    N_("must be at most 128 characters long"),
    N_("is a commonly used password (found in breaches); choose another"),
    N_("is too repetitive or sequential"),
    N_("must not contain your e-mail address or name"),
)
