"""Devices in the data map: a person's devices are found, exported and erased with their account."""

from sqlalchemy import select

from opmaestro.consent.models import ConsentEvent
from opmaestro.cookies import devices
from opmaestro.cookies.models import CookieDevice, CookieDeviceState
from opmaestro.core.datamap import rows_of
from opmaestro.core.db import table_of
from opmaestro.dsar import erasure
from tests.factories import create_linked_devices, create_user


class TestSubjectRows:
    async def test_a_persons_devices_and_their_answers_are_theirs(self, session):
        ann = await create_user(session, "ann@example.com")
        bob = await create_user(session, "bob@example.com")
        mine = await create_linked_devices(session, ann, rows=2)
        await create_linked_devices(session, bob)
        await session.commit()
        for model in (CookieDevice, CookieDeviceState):
            table = table_of(model)
            found = (
                (
                    await session.execute(
                        select(table.c.device_id if model is CookieDeviceState else table.c.id).where(
                            rows_of(table, ann.id)
                        )
                    )
                )
                .scalars()
                .all()
            )
            assert sorted(found) == sorted(mine), model

    async def test_erasure_removes_the_devices_and_keeps_the_proof_of_consent(self, session):
        ann = await create_user(session, "ann@example.com")
        (device_id,) = await create_linked_devices(session, ann)
        await session.commit()
        report = await erasure.erase_person(session, ann.id, {})
        assert report.tables["cookie_device"].deleted == 1
        assert (await session.get(CookieDevice, device_id, populate_existing=True)) is None
        left = (
            await session.scalars(select(CookieDeviceState).where(CookieDeviceState.device_id == device_id))
        ).all()
        assert left == []
        events = (
            await session.scalars(
                select(ConsentEvent).where(ConsentEvent.subject == devices.device_subject(device_id))
            )
        ).all()
        assert len(events) == 1
