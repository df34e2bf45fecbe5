use super::fitted_size;

#[test]
fn derivative_sizes_fit_the_long_edge_and_never_enlarge() {
    assert_eq!(fitted_size(4000, 3000, 2048), (2048, 1536));
    assert_eq!(fitted_size(3000, 4000, 2048), (1536, 2048));
    assert_eq!(fitted_size(100, 50, 2048), (100, 50));
    assert_eq!(fitted_size(10000, 1, 256), (256, 1));
}
