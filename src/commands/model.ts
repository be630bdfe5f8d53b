// `partnersync model` is built by its own issue; until then the CLI reports "not available yet".
export {};
