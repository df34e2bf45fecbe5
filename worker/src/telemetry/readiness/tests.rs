use super::*;

#[test]
fn ready_only_when_consuming_with_the_store_answering_and_not_draining() {
    let r = Readiness::default();
    let reasons = r.check().unwrap_err();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].starts_with("not consuming"), "{reasons:?}");
    assert!(reasons[1].contains("broker"), "{reasons:?}");
    assert!(reasons[2].contains("store"), "{reasons:?}");
    r.set_consuming(true);
    r.set_broker_ok(true);
    assert_eq!(r.check().unwrap_err().len(), 1);
    r.set_store_ok(true);
    assert_eq!(r.check(), Ok(()));
    r.set_consuming(false);
    assert!(r.check().unwrap_err()[0].starts_with("not consuming"));
    r.set_consuming(true);
    r.set_broker_ok(false);
    assert!(r.check().unwrap_err()[0].contains("broker"));
    r.set_broker_ok(true);
    r.set_draining();
    let reasons = r.check().unwrap_err();
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0].starts_with("draining"), "{reasons:?}");
}
