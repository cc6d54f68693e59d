//! The IR's text form (`canao inspect --text` prints it; tests and tools read it back).

use crate::utf8;

/// A graph in text form; one that parses prints back to text that parses to the same graph.
pub fn ir_text(data: &[u8]) {
    let Some(text) = utf8(data) else { return };
    let Ok(g) = canao_ir::parse_graph(text) else { return };
    let printed = g.to_string();
    let again =
        canao_ir::parse_graph(&printed).unwrap_or_else(|e| panic!("printed graph does not parse: {e}\n{printed}"));
    assert_eq!(again, g, "the printed graph parses to another graph:\n{printed}");
    let _ = g.cost();
}
