"""Checkpoint and snapshot bookkeeping on libvirt's test driver (`test:///default`, no daemon)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.live


def checkpoint(domain: Any, name: str, flags: int = 0) -> Any:
    return domain.checkpointCreateXML(
        f"<domaincheckpoint><name>{name}</name></domaincheckpoint>", flags
    )


def names(moments: list[Any]) -> list[str]:
    return [moment.getName() for moment in moments]


def chain(domain: Any, *labels: str) -> list[Any]:
    """Checkpoints created one after the other: each one's parent is the one before."""
    return [checkpoint(domain, label) for label in labels]


def test_checkpoint_records_disks_and_parent(libvirt: ModuleType, test_domain: Any) -> None:
    first, second = chain(test_domain, "a", "b")
    xml = second.getXMLDesc(libvirt.VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN)
    assert "<parent>\n    <name>a</name>\n  </parent>" in xml
    assert "<disk name='vda' checkpoint='bitmap' bitmap='b'/>" in xml
    assert "<domain " not in xml
    assert "<domain type='test'>" in second.getXMLDesc(0)
    assert second.getParent().getName() == "a"
    with pytest.raises(libvirt.libvirtError, match="checkpoint 'a' does not have a parent") as err:
        first.getParent()
    assert err.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_CHECKPOINT


def test_listing_roots_leaves_and_topological_order(libvirt: ModuleType, test_domain: Any) -> None:
    chain(test_domain, "a", "b", "c", "d")
    listed = test_domain.listAllCheckpoints
    assert sorted(names(listed(0))) == ["a", "b", "c", "d"]
    assert names(listed(libvirt.VIR_DOMAIN_CHECKPOINT_LIST_ROOTS)) == ["a"]
    assert names(listed(libvirt.VIR_DOMAIN_CHECKPOINT_LIST_LEAVES)) == ["d"]
    assert sorted(names(listed(libvirt.VIR_DOMAIN_CHECKPOINT_LIST_NO_LEAVES))) == ["a", "b", "c"]
    assert names(listed(libvirt.VIR_DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL)) == ["a", "b", "c", "d"]
    root = test_domain.checkpointLookupByName("a")
    assert names(root.listAllChildren(0)) == ["b"]
    descendants = root.listAllChildren(libvirt.VIR_DOMAIN_CHECKPOINT_LIST_DESCENDANTS)
    assert sorted(names(descendants)) == ["b", "c", "d"]


def test_delete_reparents_children(libvirt: ModuleType, test_domain: Any) -> None:
    _a, b, c = chain(test_domain, "a", "b", "c")
    b.delete(0)
    assert c.getParent().getName() == "a"
    assert sorted(names(test_domain.listAllCheckpoints(0))) == ["a", "c"]
    with pytest.raises(libvirt.libvirtError, match="no domain checkpoint with matching name 'b'"):
        b.getXMLDesc(0)


def test_delete_with_children_and_children_only(libvirt: ModuleType, test_domain: Any) -> None:
    a, b, _c = chain(test_domain, "a", "b", "c")
    b.delete(libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN_ONLY)
    assert sorted(names(test_domain.listAllCheckpoints(0))) == ["a", "b"]
    assert checkpoint(test_domain, "after-b").getParent().getName() == "b"
    a.delete(libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN)
    assert test_domain.listAllCheckpoints(0) == []
    with pytest.raises(libvirt.libvirtError, match="does not have a parent"):
        checkpoint(test_domain, "fresh").getParent()


def test_delete_flags_children_and_children_only_exclude_each_other(
    libvirt: ModuleType, test_domain: Any
) -> None:
    (a,) = chain(test_domain, "a")
    both = (
        libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN
        | libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN_ONLY
    )
    with pytest.raises(libvirt.libvirtError, match="are mutually exclusive") as err:
        a.delete(both)
    assert "VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN_ONLY" in str(err.value)


def saved_chain(libvirt: ModuleType, domain: Any, *labels: str) -> list[str]:
    """Create a chain, keep each definition, then forget all of them (metadata only)."""
    created = chain(domain, *labels)
    saved = [moment.getXMLDesc(0) for moment in created]
    created[0].delete(
        libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN
        | libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY
    )
    assert domain.listAllCheckpoints(0) == []
    return saved


def test_redefine_parent_first_makes_the_newest_current(
    libvirt: ModuleType, test_domain: Any
) -> None:
    saved = saved_chain(libvirt, test_domain, "a", "b", "p")
    for xml in saved:
        test_domain.checkpointCreateXML(xml, libvirt.VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE)
    assert test_domain.checkpointLookupByName("b").getParent().getName() == "a"
    assert checkpoint(test_domain, "next").getParent().getName() == "p"
    test_domain.checkpointCreateXML(saved[0], libvirt.VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE)
    assert checkpoint(test_domain, "later").getParent().getName() == "next"


def test_redefine_child_before_parent_fails(libvirt: ModuleType, test_domain: Any) -> None:
    saved = saved_chain(libvirt, test_domain, "a", "b")
    with pytest.raises(libvirt.libvirtError, match="parent a for moment b not found") as err:
        test_domain.checkpointCreateXML(saved[1], libvirt.VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE)
    assert err.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG


def test_snapshot_tree_current_and_delete(libvirt: ModuleType, test_domain: Any) -> None:
    def snapshot(name: str) -> Any:
        return test_domain.snapshotCreateXML(
            f"<domainsnapshot><name>{name}</name></domainsnapshot>", 0
        )

    s1, s2 = snapshot("s1"), snapshot("s2")
    assert s2.getParent().getName() == "s1"
    assert test_domain.snapshotCurrent(0).getName() == "s2"
    assert "<state>running</state>" in s1.getXMLDesc(0)
    test_domain.revertToSnapshot(s1, 0)
    s3 = snapshot("s3")
    assert s3.getParent().getName() == "s1"
    assert sorted(names(s1.listAllChildren(0))) == ["s2", "s3"]
    listed = test_domain.listAllSnapshots
    assert names(listed(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS)) == ["s1"]
    assert sorted(names(listed(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES))) == ["s2", "s3"]
    assert names(listed(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL))[0] == "s1"
    s1.delete(libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY)
    assert names(listed(0)) == ["s1"]
    s1.delete(0)
    assert test_domain.hasCurrentSnapshot(0) == 0


def test_snapshot_redefine_needs_a_domain_definition(libvirt: ModuleType, test_domain: Any) -> None:
    saved = test_domain.snapshotCreateXML("<domainsnapshot><name>s</name></domainsnapshot>", 0)
    xml = saved.getXMLDesc(0)
    saved.delete(0)
    redefine = (
        libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
    )
    test_domain.snapshotCreateXML(xml, redefine)
    assert test_domain.snapshotCurrent(0).getName() == "s"
    without_domain = xml[: xml.index("<domain ")] + "</domainsnapshot>"
    with pytest.raises(libvirt.libvirtError, match="missing domain in snapshot"):
        test_domain.snapshotCreateXML(without_domain.replace(">s<", ">t<", 1), redefine)


def test_checkpoint_blocks_snapshot(libvirt: ModuleType, test_domain: Any) -> None:
    checkpoint(test_domain, "c")
    with pytest.raises(
        libvirt.libvirtError, match="cannot create snapshot while checkpoint exists"
    ) as err:
        test_domain.snapshotCreateXML("<domainsnapshot/>", 0)
    assert err.value.get_error_code() == libvirt.VIR_ERR_OPERATION_UNSUPPORTED


def test_snapshot_blocks_checkpoint_until_deleted(libvirt: ModuleType, test_domain: Any) -> None:
    snapshot = test_domain.snapshotCreateXML("<domainsnapshot/>", 0)
    with pytest.raises(
        libvirt.libvirtError, match="cannot create checkpoint while snapshot exists"
    ):
        checkpoint(test_domain, "c")
    with pytest.raises(
        libvirt.libvirtError, match="cannot create checkpoint while snapshot exists"
    ):
        checkpoint(test_domain, "c", libvirt.VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE)
    snapshot.delete(0)
    assert checkpoint(test_domain, "c").getName() == "c"
