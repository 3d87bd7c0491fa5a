"""Signing in to the pages: sessions in signed HttpOnly cookies, CSRF on every form, a
throttle that slows guessing without locking the owner out for good, TOTP, sign-out
everywhere, and every attempt in the audit trail."""

from __future__ import annotations

from sqlalchemy import select

from hub.auth import totp, users
from hub.models import AuditEvent, User
from hub.models.enums import AuditAction, Role
from tests.web.conftest import PASSWORD, browser, csrf_of, form_token, make_user, post_form, sign_in


async def _audit(runtime, action):
    async with runtime.unit_of_work(write=False) as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows.scalars())


async def test_get_root_shows_the_sign_in_page_and_a_signed_in_technician_lands_on_the_console(
    app, runtime, web
):
    page = await web.get("/")
    assert page.status_code == 200 and '<form method="post" action="/sign-in"' in page.text
    await make_user(runtime, "tech@msp.example")
    r = await sign_in(web, "tech@msp.example")
    assert r.status_code == 303 and r.headers["location"] == "/console"
    cookie = r.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookie if c.startswith("hub_session="))
    assert "httponly" in session_cookie.lower() and "samesite=lax" in session_cookie.lower()
    assert "secure" not in session_cookie.lower()  # the public URL is http here
    assert (await web.get("/")).headers["location"] == "/console"
    today = await web.get("/console")
    assert today.status_code == 200 and "<h1>Today</h1>" in today.text
    [event] = await _audit(runtime, AuditAction.sign_in)
    assert event.actor == "user:tech@msp.example" and event.meta["method"] == "password"


async def test_cookies_are_secure_when_the_public_url_is_https(app, runtime, web):
    runtime.use_settings(notify={"public_url": "https://hub.msp.example"})
    await make_user(runtime, "tech@msp.example")
    r = await sign_in(web, "tech@msp.example")
    assert all("secure" in c.lower() for c in r.headers.get_list("set-cookie"))


async def test_wrong_password_and_unknown_account_get_the_same_answer_and_are_audited(app, runtime, web):
    await make_user(runtime, "tech@msp.example")
    wrong = await sign_in(web, "tech@msp.example", "not the password at all")
    nobody = await sign_in(web, "nobody@msp.example", "not the password at all")
    assert wrong.status_code == nobody.status_code == 401
    assert "Wrong e-mail or password." in wrong.text and "Wrong e-mail or password." in nobody.text
    assert "hub_session=" not in " ".join(wrong.headers.get_list("set-cookie"))
    failed = await _audit(runtime, AuditAction.sign_in_failed)
    assert [e.meta["reason"] for e in failed] == ["bad_password", "unknown_user"]
    assert (await web.get("/console")).status_code == 303  # still signed out


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(app, runtime, web):
    await make_user(runtime, "tech@msp.example")
    no_token = await web.post("/sign-in", data={"email": "tech@msp.example", "password": PASSWORD})
    forged = await web.post(
        "/sign-in", data={"email": "tech@msp.example", "password": PASSWORD, "csrf_token": "A" * 43}
    )
    assert no_token.status_code == forged.status_code == 403
    assert "another site" in no_token.text
    assert await _audit(runtime, AuditAction.sign_in) == []
    # Signed in, a token of another browser is refused too.
    assert (await sign_in(web, "tech@msp.example")).status_code == 303
    async with browser(app) as other:
        foreign = csrf_of((await other.get("/sign-in")).text)
    r = await web.post("/account/sign-out-everywhere", data={"csrf_token": foreign})
    assert r.status_code == 403
    assert (await web.get("/console")).status_code == 200  # not signed out


async def test_failed_sign_ins_lock_the_account_from_that_address_for_a_while_only(app, runtime, clock):
    await make_user(runtime, "tech@msp.example")
    async with browser(app, "10.0.0.66") as attacker, browser(app, "10.0.0.7") as owner:
        for _ in range(5):
            assert (await sign_in(attacker, "tech@msp.example", "guess guess guess")).status_code == 401
        locked = await sign_in(attacker, "tech@msp.example")  # even the right password now
        assert locked.status_code == 429 and "Too many failed attempts" in locked.text
        # The owner, elsewhere, is not locked out by someone else's failures.
        assert (await sign_in(owner, "tech@msp.example")).status_code == 303
        clock.advance(seconds=31)  # 30 s after the fifth failure
        assert (await sign_in(attacker, "tech@msp.example")).status_code == 303


async def test_the_lock_doubles_with_each_failure_and_never_passes_the_cap(app, runtime, clock):
    runtime.use_settings(auth={"signin_lock_cap_seconds": 120})
    await make_user(runtime, "tech@msp.example")
    async with browser(app, "10.0.0.66") as attacker:
        for _ in range(5):
            await sign_in(attacker, "tech@msp.example", "guess guess guess")
        for lock in (30, 60, 120, 120):  # doubling from 30 s, capped at 120 s
            clock.advance(seconds=lock - 1)
            assert (await sign_in(attacker, "tech@msp.example")).status_code == 429
            clock.advance(seconds=2)
            assert (await sign_in(attacker, "tech@msp.example", "guess guess guess")).status_code == 401
        clock.advance(seconds=121)
        assert (await sign_in(attacker, "tech@msp.example")).status_code == 303


async def test_many_addresses_lock_the_account_but_not_for_a_browser_that_signed_in_before(
    app, runtime, clock
):
    await make_user(runtime, "tech@msp.example")
    async with browser(app, "10.0.0.7") as owner:
        assert (await sign_in(owner, "tech@msp.example")).status_code == 303
        await post_form(owner, "/sign-out", page="/account")
        for n in range(10):  # ten places, one failure each: the account-wide key locks
            async with browser(app, f"10.9.0.{n}") as bot:
                await sign_in(bot, "tech@msp.example", "guess guess guess")
        async with browser(app, "10.0.0.8") as new_place:
            assert (await sign_in(new_place, "tech@msp.example")).status_code == 429
        # The owner's browser carries its known-device mark: it is let in.
        assert (await sign_in(owner, "tech@msp.example")).status_code == 303


async def test_totp_is_asked_after_the_password_and_a_code_works_once(app, runtime, web, clock):
    user_id = await make_user(runtime, "admin@msp.example", Role.admin)
    async with runtime.unit_of_work() as session:
        user = await session.get(User, user_id)
        enrolment = users.begin_totp(session, user)
        users.confirm_totp(session, user, totp.code_at(enrolment.secret, totp.step_of(clock.now)), clock.now)
    clock.advance(seconds=30)
    r = await sign_in(web, "admin@msp.example")
    assert r.status_code == 303 and r.headers["location"] == "/sign-in/code"
    assert (await web.get("/console")).status_code == 303  # not signed in yet
    token = csrf_of((await web.get("/sign-in/code")).text)
    bad = await web.post("/sign-in/code", data={"code": "000000", "csrf_token": token})
    assert bad.status_code == 401
    code = totp.code_at(enrolment.secret, totp.step_of(clock.now))
    ok = await web.post("/sign-in/code", data={"code": code, "csrf_token": token})
    assert ok.status_code == 303 and ok.headers["location"] == "/console"
    assert (await web.get("/console")).status_code == 200
    async with browser(app) as replay:
        await sign_in(replay, "admin@msp.example")
        t2 = csrf_of((await replay.get("/sign-in/code")).text)
        again = await replay.post("/sign-in/code", data={"code": code, "csrf_token": t2})
        assert again.status_code == 401  # the same code twice is refused
    methods = [e.meta["method"] for e in await _audit(runtime, AuditAction.sign_in)]
    assert methods == ["password+totp"]


async def test_sessions_end_when_idle_and_at_their_absolute_end(app, runtime, web, clock):
    runtime.use_settings(auth={"session_idle_minutes": 30, "session_absolute_hours": 2})
    await make_user(runtime, "tech@msp.example")
    await sign_in(web, "tech@msp.example")
    for _ in range(4):  # active every 25 minutes: idle never reached
        clock.advance(minutes=25)
        assert (await web.get("/console")).status_code == 200
    clock.advance(minutes=25)  # 2 h 5 min after signing in, never idle
    assert (await web.get("/console")).status_code == 303
    await sign_in(web, "tech@msp.example")
    clock.advance(minutes=31)
    r = await web.get("/console")
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")


async def test_signing_in_again_rotates_the_session_and_sign_out_everywhere_ends_them_all(app, runtime):
    await make_user(runtime, "tech@msp.example")
    async with browser(app) as laptop, browser(app) as phone:
        await sign_in(laptop, "tech@msp.example")
        first = laptop.cookies["hub_session"]
        await sign_in(laptop, "tech@msp.example")  # from the sign-in page again
        assert laptop.cookies["hub_session"] != first
        async with browser(app) as thief:
            thief.cookies.set("hub_session", first)
            assert (await thief.get("/console")).status_code == 303  # the old session ended
        await sign_in(phone, "tech@msp.example")
        r = await post_form(laptop, "/account/sign-out-everywhere")
        assert r.status_code == 303
        assert (await phone.get("/console")).status_code == 303
        assert (await laptop.get("/console")).status_code == 303


async def test_an_invitation_sets_the_password_once_and_the_rules_are_checked(app, runtime, web):
    from hub.models.enums import UserTokenPurpose

    user_id = await make_user(runtime, "new@msp.example", password=None)
    async with runtime.unit_of_work() as session:
        user = await session.get(User, user_id)
        token = await users.issue_link(
            session,
            user,
            UserTokenPurpose.invite,
            now=runtime.now(),
            settings=runtime.settings.auth,
            created_by="t",
        )
    page = await web.get(f"/invite/{token}")
    assert page.status_code == 200 and "new@msp.example" in page.text
    short = await web.post(
        f"/invite/{token}",
        data={"password": "short", "password_again": "short", "csrf_token": csrf_of(page.text)},
    )
    assert short.status_code == 422 and "12 characters" in short.text
    common = await web.post(
        f"/invite/{token}",
        data={
            "password": "password12345!",
            "password_again": "password12345!",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert common.status_code == 422 and "commonly used" in common.text
    ok = await web.post(
        f"/invite/{token}",
        data={"password": PASSWORD, "password_again": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert ok.status_code == 303 and (await web.get("/console")).status_code == 200
    async with browser(app) as other:
        assert (await other.get(f"/invite/{token}")).status_code == 404  # spent
        assert (await sign_in(other, "new@msp.example")).status_code == 303


async def test_forgot_password_mails_a_single_use_link_that_ends_other_sessions(app, runtime, web, smtp):
    await make_user(runtime, "tech@msp.example")
    async with browser(app) as old_browser:
        await sign_in(old_browser, "tech@msp.example")
        r = await web.post(
            "/forgot", data={"email": "tech@msp.example", "csrf_token": await form_token(web, "/forgot")}
        )
        same = await web.post(
            "/forgot", data={"email": "nobody@msp.example", "csrf_token": await form_token(web, "/forgot")}
        )
        assert (
            r.status_code == same.status_code == 200 and "on its way" in r.text and "on its way" in same.text
        )
        [mail] = smtp.to("tech@msp.example")
        path = next(w for w in smtp.text(mail).split() if "/reset/" in w).split("8000", 1)[1]
        page = await web.get(path)
        new = "a brand new pass phrase"
        done = await web.post(
            path, data={"password": new, "password_again": new, "csrf_token": csrf_of(page.text)}
        )
        assert done.status_code == 303
        assert (await old_browser.get("/console")).status_code == 303  # signed out by the reset
        assert (await web.get(path)).status_code == 404
    assert (await sign_in(web, "tech@msp.example", PASSWORD)).status_code == 401
    assert smtp.to("nobody@msp.example") == []
