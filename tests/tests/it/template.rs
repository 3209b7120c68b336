//! The SAM template is valid CloudFormation (cfn-lint, offline).

use std::process::Command;

#[test]
fn sam_template_passes_cfn_lint() {
    let cfn_lint = std::env::var("GATEHOUSE_TEST_CFN_LINT").unwrap_or_else(|_| "cfn-lint".into());
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let output = Command::new(&cfn_lint)
        .arg(template)
        .output()
        .unwrap_or_else(|e| panic!("running {cfn_lint} (scripts/test installs it): {e}"));
    assert!(
        output.status.success(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
