"""Bulk invitations from a CSV file: the checks on upload, sending a chunk at a time (and resuming after a
crash), the error report, and the pages."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import func, select, update

import tasks
from accounts.models import Agency, User
from assessments import batches, invitations
from assessments import services as builder
from assessments.batches import BatchError, check_csv
from assessments.models import Assessment, Invitation, InviteBatch
from candidates.models import Candidate
from database import db, independent_unit_of_work, unit_of_work, utcnow
from scenarios.models import Competency
from tests.conftest import make_scenario, post, sign_in


def csv_file(*lines: str, header: str = "name,email") -> bytes:
    return ("\r\n".join([header, *lines]) + "\r\n").encode("utf-8")


# --- Checking the file --------------------------------------------------------------------------


def test_a_good_file_gives_rows_with_their_lines_and_normalised_addresses():
    rows, rejected = check_csv(csv_file("Noor Haddad,Noor@Example.org", "  Sam Lee , sam@example.org "))
    assert rows == [
        {"line": 2, "name": "Noor Haddad", "email": "noor@example.org"},
        {"line": 3, "name": "Sam Lee", "email": "sam@example.org"},
    ]
    assert rejected == []


def test_a_byte_order_mark_extra_columns_and_any_column_order_are_accepted():
    line = "+44 20 7946 0000,noor@example.org,Noor Haddad,x"
    raw = b"\xef\xbb\xbf" + csv_file(line, header="Phone,EMAIL, Name ,notes")
    rows, rejected = check_csv(raw)
    assert rows == [{"line": 2, "name": "Noor Haddad", "email": "noor@example.org"}]
    assert rejected == []


def test_blank_lines_are_skipped_and_a_multiline_cell_is_reported_where_it_starts():
    rows, rejected = check_csv(csv_file("", "Noor Haddad,noor@example.org", ",", '"Sam\nLee",sam@example.org'))
    assert rows == [{"line": 3, "name": "Noor Haddad", "email": "noor@example.org"}]
    assert [(r["line"], r["reason"]) for r in rejected] == [
        (5, "The name contains a line break or another control character.")
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (csv_file("Noor Haddad", header="name"), "no email column"),
        (csv_file("noor@example.org", header="email"), "no name column"),
        (csv_file("Noor Haddad,noor@example.org", header="full name,address"), "no name or email column"),
        (csv_file("Noor,noor@example.org,x", header="name,email,Name"), "“name” column twice"),
        (b"", "The file is empty"),
        (b"\r\n  \r\n", "The file is empty"),
        (csv_file(), "no candidates below it"),
        ("name,email\r\nJosé Núñez,jose@example.org\r\n".encode("latin-1"), "not UTF-8"),
        (b"name,email\r\nNoor,noor@example.org\r\n\xff\xfe", "not UTF-8"),
        (csv_file("Noor," + "x" * 200_000), "could not be read as CSV"),
    ],
)
def test_an_unusable_file_is_refused_as_a_whole(raw, message):
    with pytest.raises(BatchError) as refused:
        check_csv(raw)
    assert message in str(refused.value)


def test_malformed_addresses_are_rejected_with_their_line_numbers():
    rows, rejected = check_csv(
        csv_file(
            "Noor Haddad,noor@example.org",
            "No At,noor.example.org",
            "Two Ats,noor@@example.org",
            "No Dot,noor@example",
            "Spaces,noor haddad@example.org",
            "Missing,",
            "Sam Lee,sam@example.org",
        )
    )
    assert [r["line"] for r in rows] == [2, 8]
    assert [r["line"] for r in rejected] == [3, 4, 5, 6, 7]
    assert all(r["reason"].startswith("The email address is not valid") for r in rejected[:4])
    assert rejected[4]["reason"] == "The email address is missing."
    assert rejected[0] == {
        "line": 3,
        "name": "No At",
        "email": "noor.example.org",
        "reason": rejected[0]["reason"],
    }


@pytest.mark.parametrize(
    "name",
    ['=HYPERLINK("http://x.test","Click")', "+1+2", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\tNoor", "\r=1+1"],
)
def test_a_name_that_could_be_a_spreadsheet_formula_is_rejected(name):
    quoted = '"' + name.replace('"', '""') + '"'
    rows, rejected = check_csv(csv_file(f"{quoted},noor@example.org", "Sam Lee,sam@example.org"))
    assert [r["email"] for r in rows] == ["sam@example.org"]
    assert len(rejected) == 1
    assert rejected[0]["line"] == 2
    assert "could run as a formula" in rejected[0]["reason"]


def test_an_address_that_could_be_a_formula_is_rejected():
    _, rejected = check_csv(csv_file("Noor,=cmd|'/Ccalc'!A0@example.org", "Sam,-x@example.org"))
    assert [("formula" in r["reason"]) for r in rejected] == [True, True]


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "The name is missing."), ("x" * 121, "The name is longer than 120 characters.")],
)
def test_names_must_be_1_to_120_characters(name, reason):
    rows, rejected = check_csv(csv_file(f"{name},noor@example.org", "{},sam@example.org".format("y" * 120)))
    assert [r["name"] for r in rows] == ["y" * 120]
    assert rejected[0]["reason"] == reason


def test_repeated_addresses_are_merged_into_their_first_row():
    rows, rejected = check_csv(
        csv_file(
            "Noor Haddad,noor@example.org",
            "Sam Lee,sam@example.org",
            "N. Haddad,NOOR@example.ORG",
            "Noor again, noor@example.org",
        )
    )
    assert rows == [
        {"line": 2, "name": "Noor Haddad", "email": "noor@example.org"},
        {"line": 3, "name": "Sam Lee", "email": "sam@example.org"},
    ]
    assert [(r["line"], r["merged"]) for r in rejected] == [(4, True), (5, True)]
    assert rejected[0]["reason"] == "The same address as line 2: merged, invited once."


def test_5000_rows_are_accepted_and_5001_refused():
    lines = [f"Person {n},person{n}@example.org" for n in range(5000)]
    rows, _ = check_csv(csv_file(*lines))
    assert len(rows) == 5000
    with pytest.raises(BatchError, match="more than 5,000 rows"):
        check_csv(csv_file(*lines, "One More,one.more@example.org"))


def test_a_file_over_2_mb_is_refused():
    padding = "x" * 100
    lines = [f"Person {n},person{n}@example.org,{padding}" for n in range(4000)]
    raw = csv_file(*lines, header="name,email,notes")
    raw += b"," * (batches.MAX_FILE_BYTES + 1 - len(raw))
    assert len(raw) == batches.MAX_FILE_BYTES + 1
    with pytest.raises(BatchError, match="larger than 2 MB"):
        check_csv(raw)
    assert len(check_csv(raw[:-1])[0]) == 4000


# --- Creating and sending a batch ------------------------------------------------------------------


@pytest.fixture
def published(app, tenant_a):
    """The tenant's assessment with four professionalism items, published; the ids a test needs."""
    with app.app_context(), unit_of_work():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
        admin = db.session.scalar(select(User).where(User.public_id == tenant_a.admin["public_id"]))
        assessment = db.session.scalar(select(Assessment).where(Assessment.public_id == tenant_a.assessment_id))
        for n in range(3):
            scenario = make_scenario(agency, f"B-{n}", weights={"professionalism": 1.0})
            builder.add_item(assessment, scenario.latest, by=admin, now=utcnow())
        assessment.reported = [
            db.session.scalar(
                select(Competency).where(Competency.agency_id == agency.id, Competency.code == "professionalism")
            )
        ]
        builder.publish(assessment, by=admin, now=utcnow())
    return {"assessment": tenant_a.assessment_id, "admin": tenant_a.admin["public_id"]}


@pytest.fixture
def held(monkeypatch):
    """New batches wait in the queue: the test runs their chunks itself."""
    monkeypatch.setattr(batches, "enqueue_processing", lambda batch_id: None)


def new_batch(published, raw: bytes) -> int:
    with unit_of_work():
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == published["assessment"])).one()
        admin = db.session.scalars(select(User).where(User.public_id == published["admin"])).one()
        return batches.create_batch(assessment, raw, by=admin, now=utcnow()).id


def fresh(batch_id: int) -> InviteBatch:
    db.session.rollback()  # end the read snapshot: a worker's session wrote since
    return db.session.get_one(InviteBatch, batch_id, populate_existing=True)


def invitation_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Invitation)) or 0


PEOPLE = [f"Person {n},person{n}@example.org" for n in range(5)]


def test_a_batch_is_sent_a_chunk_at_a_time_with_its_progress(ctx, published, held, mailbox):
    with unit_of_work():
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == published["assessment"])).one()
        admin = db.session.scalars(select(User).where(User.public_id == published["admin"])).one()
        invitations.invite(assessment, name="Person 3", email="Person3@example.org", by=admin, now=utcnow())
    before = invitation_count()
    batch_id = new_batch(published, csv_file(*PEOPLE, "Bad,not-an-address"))
    batch = fresh(batch_id)
    assert (batch.status, batch.total_rows, batch.processed_rows, len(batch.rows)) == ("queued", 5, 0, 5)

    assert batches.process_batch(batch_id, utcnow(), chunk=2) is True
    batch = fresh(batch_id)
    assert (batch.status, batch.processed_rows, batch.invited, batch.already_invited) == ("queued", 2, 2, 0)
    assert [r["line"] for r in batch.rows] == [4, 5, 6]
    assert batch.lease_expires_at is not None

    assert batches.process_batch(batch_id, utcnow(), chunk=2) is True
    batch = fresh(batch_id)
    assert (batch.processed_rows, batch.invited, batch.already_invited) == (4, 3, 1)

    assert batches.process_batch(batch_id, utcnow(), chunk=2) is False
    batch = fresh(batch_id)
    assert (batch.status, batch.processed_rows, batch.invited, batch.already_invited) == ("done", 5, 4, 1)
    assert batch.rows == [] and batch.finished_at is not None and batch.lease_expires_at is None
    assert invitation_count() == before + 4
    assert batches.progress(batch) == batches.Progress(
        total=5, processed=5, invited=4, already_invited=1, rejected=1, merged=0, finished=True
    )
    assert batches.process_batch(batch_id, utcnow()) is False  # a done batch is left alone
    assert sorted(m["To"] for m in mailbox.messages) == [f"person{n}@example.org" for n in range(5)]


def test_a_batch_left_running_by_a_crashed_worker_is_resumed_without_double_invitations(
    ctx, published, held, mailbox, monkeypatch
):
    before = invitation_count()
    batch_id = new_batch(published, csv_file(*PEOPLE))
    assert batches.process_batch(batch_id, utcnow(), chunk=2) is True

    real_invite = invitations.invite
    calls = []

    def crash_on_second(*args, **kwargs):
        calls.append(kwargs["email"])
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real_invite(*args, **kwargs)

    monkeypatch.setattr(invitations, "invite", crash_on_second)
    with pytest.raises(RuntimeError):
        batches.process_batch(batch_id, utcnow(), chunk=2)
    monkeypatch.setattr(invitations, "invite", real_invite)
    batch = fresh(batch_id)
    assert (batch.status, batch.processed_rows, len(batch.rows)) == ("running", 2, 3)
    assert invitation_count() == before + 2  # the crashed chunk's first invitation was rolled back with it

    # While the lease lasts, nobody else takes the batch; the sweep leaves it alone.
    assert batches.process_batch(batch_id, utcnow()) is False
    assert batches.stalled_batches(utcnow()) == []
    assert batches.stalled_batches(batch.lease_expires_at + timedelta(seconds=1)) == [batch_id]

    with independent_unit_of_work() as session:  # time passes: the lease runs out
        session.execute(
            update(InviteBatch)
            .where(InviteBatch.id == batch_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    db.session.rollback()  # a consumer's task starts with a session of its own
    assert tasks.resume_batches_task.call_local() == 1

    batch = fresh(batch_id)
    assert (batch.status, batch.processed_rows, batch.invited, batch.already_invited) == ("done", 5, 5, 0)
    assert invitation_count() == before + 5
    sent_to = sorted(m["To"] for m in mailbox.messages)
    assert sent_to == [f"person{n}@example.org" for n in range(5)]  # one email each
    assert batches.stalled_batches(utcnow() + timedelta(hours=1)) == []


def test_a_lease_is_exclusive_until_it_runs_out(ctx, published, held, monkeypatch):
    before = invitation_count()
    batch_id = new_batch(published, csv_file(*PEOPLE))
    now = utcnow()
    lease = batches.claim_batch(batch_id, now)
    assert lease == now + batches.LEASE
    assert batches.claim_batch(batch_id, now + timedelta(minutes=1)) is None
    later = lease + timedelta(seconds=1)
    assert batches.claim_batch(batch_id, later) == later + batches.LEASE
    # A worker that outlived its lease (another took the batch over) records nothing.
    monkeypatch.setattr(batches, "claim_batch", lambda batch_id, now: lease)
    assert batches.process_batch(batch_id, now, chunk=5) is False
    batch = fresh(batch_id)
    assert (batch.status, batch.processed_rows, len(batch.rows)) == ("running", 0, 5)
    assert invitation_count() == before


def test_the_task_sends_the_whole_batch_a_chunk_at_a_time(ctx, published, held, monkeypatch):
    batch_id = new_batch(published, csv_file(*PEOPLE))
    monkeypatch.setattr(batches, "process_batch", partial(batches.process_batch, chunk=2))
    assert tasks.process_batch_task.call_local(batch_id) == 2  # two chunks that left rows, then the last
    batch = fresh(batch_id)
    assert (batch.status, batch.invited) == ("done", 5)


def test_a_batch_whose_uploader_is_gone_stops(ctx, published, held):
    batch_id = new_batch(published, csv_file(*PEOPLE))
    with independent_unit_of_work() as session:
        session.execute(update(InviteBatch).where(InviteBatch.id == batch_id).values(created_by_id=None))
    assert batches.process_batch(batch_id, utcnow()) is False
    batch = fresh(batch_id)
    assert (batch.status, batch.processed_rows) == ("failed", 0)
    assert batches.progress(batch).finished


def test_creating_a_batch_needs_a_published_assessment_and_a_valid_row(ctx, tenant_a, published):
    with unit_of_work():
        admin = db.session.scalars(select(User).where(User.public_id == tenant_a.admin["public_id"])).one()
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == published["assessment"])).one()
        with pytest.raises(BatchError) as refused:
            batches.create_batch(assessment, csv_file("=1+1,noor@example.org", "Sam,sam@"), by=admin, now=utcnow())
        assert [r["line"] for r in refused.value.rejected] == [2, 3]
        assessment.published_at = None
        with pytest.raises(BatchError, match="Publish the assessment"):
            batches.create_batch(assessment, csv_file(*PEOPLE), by=admin, now=utcnow())
        assessment.published_at = utcnow()
    assert db.session.scalar(select(func.count()).select_from(InviteBatch)) == 0


# --- The error report ------------------------------------------------------------------------------


def test_the_error_report_neutralises_formulas_and_quotes_per_rfc_4180(ctx, published, held):
    batch_id = new_batch(
        published,
        csv_file(
            "Noor Haddad,noor@example.org",
            '"=HYPERLINK(""http://evil.test"",""x"")",a@example.org',
            '"@SUM(A1), ""quoted""",b@example.org',
            "-2+3,c@example.org",
            "+1,d@example.org",
            "Sam,=1+1@example.org",
            "Lee,not an address",
            "N. Haddad,NOOR@example.org",
        ),
    )
    report = batches.error_report_csv(fresh(batch_id))
    assert report.startswith("line,name,email,reason\r\n")
    cells = list(csv.reader(io.StringIO(report)))
    assert cells[0] == ["line", "name", "email", "reason"]
    by_line = {int(row[0]): row for row in cells[1:]}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8, 9]
    assert by_line[3][1] == '\'=HYPERLINK("http://evil.test","x")'
    assert by_line[4][1] == '\'@SUM(A1), "quoted"'
    assert by_line[5][1] == "'-2+3"
    assert by_line[6][1] == "'+1"
    assert by_line[7][2] == "'=1+1@example.org"
    assert by_line[8][1:3] == ["Lee", "not an address"]
    assert "merged" in by_line[9][3]
    for row in cells[1:]:
        assert all(cell[:1] not in batches.FORMULA_STARTS for cell in row)
    assert '"\'@SUM(A1), ""quoted"""' in report  # RFC 4180: the cell is quoted, its quotes doubled


@pytest.mark.parametrize(
    ("value", "shown"),
    [("=1", "'=1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"), ("Noor", "Noor"), ("", "")],
)
def test_neutralise_cell(value, shown):
    assert batches.neutralise_cell(value) == shown


# --- Pages ---------------------------------------------------------------------------------------


def upload(client, app, assessment_id: str, raw: bytes, filename: str = "people.csv"):
    return post(
        client,
        app,
        f"/assessments/{assessment_id}/batches",
        {"file": (io.BytesIO(raw), filename, "text/csv")},
        content_type="multipart/form-data",
    )


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (InviteBatch, Invitation, Candidate)
        )


def test_upload_then_the_progress_page_and_the_error_report(app, client, tenant_a, published, mailbox):
    sign_in(client, app, tenant_a.recruiter["email"])
    response = upload(client, app, published["assessment"], csv_file(*PEOPLE, "=1+1,x@example.org"))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/assessments/batches/")

    page = client.get(location)
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "File checked" in body
    for label, value in (("Candidates to invite", 5), ("Processed", 5), ("Invited", 5), ("Rejected rows", 1)):
        assert f"<dt>{label}</dt><dd>{value}</dd>" in body
    assert 'http-equiv="refresh"' not in body  # finished (tasks run in-process in the tests)
    assert "<script" not in body
    assert len(mailbox.messages) == 5

    report = client.get(f"{location}/errors.csv")
    assert report.status_code == 200
    assert report.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert report.headers["Content-Disposition"].startswith('attachment; filename="invitation-problems-')
    text = report.data.decode("utf-8-sig")
    reason = "The name starts with “=”, which a spreadsheet could run as a formula."
    assert text.splitlines()[1] == f'7,\'=1+1,x@example.org,"{reason}"'

    detail = client.get(f"/assessments/{published['assessment']}").get_data(as_text=True)
    assert "Invite from a CSV file" in detail
    assert location in detail and f"{location}/errors.csv" in detail


def test_a_running_batch_page_refreshes_itself(app, client, tenant_a, published, held):
    with app.app_context():
        batch_id = new_batch(published, csv_file(*PEOPLE))
        public_id = db.session.get_one(InviteBatch, batch_id).public_id
    sign_in(client, app, tenant_a.admin["email"])
    body = client.get(f"/assessments/batches/{public_id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="3">' in body
    assert "You can leave it" in body
    assert "<dt>Processed</dt><dd>0</dd>" in body


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (csv_file("Noor Haddad,noor@example.org", header="name,mail"), "no email column"),
        (csv_file("Noor Haddad,noor.example.org"), "No row of the file can be invited"),
        (csv_file("=HYPERLINK(1),noor@example.org"), "could run as a formula"),
        ("name,email\r\nJosé,jose@example.org\r\n".encode("latin-1"), "not UTF-8"),
        (csv_file(*[f"P{n},p{n}@example.org" for n in range(5001)]), "more than 5,000 rows"),
        (b"name,email\r\n" + b"," * batches.MAX_FILE_BYTES, "larger than 2 MB"),
    ],
)
def test_a_bad_file_answers_422_and_writes_nothing(app, client, tenant_a, published, raw, message):
    sign_in(client, app, tenant_a.admin["email"])
    before = counts(app)
    response = upload(client, app, published["assessment"], raw)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body.replace("&#34;", '"').replace("&#39;", "'")
    assert counts(app) == before


def test_an_upload_needs_a_file_and_a_csrf_token(app, client, tenant_a, published):
    sign_in(client, app, tenant_a.admin["email"])
    before = counts(app)
    no_file = post(
        client, app, f"/assessments/{published['assessment']}/batches", {}, content_type="multipart/form-data"
    )
    assert no_file.status_code == 422
    assert "Choose a CSV file" in no_file.get_data(as_text=True)
    no_token = client.post(
        f"/assessments/{published['assessment']}/batches",
        data={"file": (io.BytesIO(csv_file(*PEOPLE)), "people.csv")},
        content_type="multipart/form-data",
    )
    assert no_token.status_code == 400
    assert counts(app) == before


def test_a_file_over_the_usual_request_limit_is_accepted_up_to_2_mb(app, client, tenant_a, published):
    raw = csv_file("Noor Haddad,noor@example.org", *[",,,,"] * 300_000)
    assert app.config["MAX_CONTENT_LENGTH"] < len(raw) < batches.MAX_FILE_BYTES
    sign_in(client, app, tenant_a.admin["email"])
    before = counts(app)
    assert upload(client, app, published["assessment"], raw).status_code == 302
    assert counts(app) == (before[0] + 1, before[1] + 1, before[2] + 1)
    far_too_big = upload(client, app, published["assessment"], b"x" * (3 * batches.MAX_FILE_BYTES))
    assert far_too_big.status_code == 413


def test_an_unpublished_assessment_refuses_an_upload(app, client, tenant_a):
    sign_in(client, app, tenant_a.admin["email"])
    response = upload(client, app, tenant_a.assessment_id, csv_file(*PEOPLE))
    assert response.status_code == 422
    assert "Publish the assessment" in response.get_data(as_text=True)
    assert counts(app)[0] == 0


def test_another_agencys_batch_answers_404(app, client, tenant_a, tenant_b, published):
    sign_in(client, app, tenant_a.admin["email"])
    assert upload(client, app, published["assessment"], csv_file(*PEOPLE, "Bad,bad")).status_code == 302
    with app.app_context():
        public_id = db.session.scalars(select(InviteBatch.public_id)).one()
    other = app.test_client()
    sign_in(other, app, tenant_b.admin["email"])
    assert other.get(f"/assessments/batches/{public_id}").status_code == 404
    assert other.get(f"/assessments/batches/{public_id}/errors.csv").status_code == 404
    before = counts(app)
    assert upload(other, app, published["assessment"], csv_file("Sam,sam@example.org")).status_code == 404
    assert counts(app) == before
    assert public_id not in other.get(f"/assessments/{tenant_b.assessment_id}").get_data(as_text=True)
