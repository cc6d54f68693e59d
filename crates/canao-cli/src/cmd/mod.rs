pub mod assets;
mod backend;
pub mod bench;
pub mod embed;
pub mod export;
pub mod inspect;
mod model;
pub mod run;
