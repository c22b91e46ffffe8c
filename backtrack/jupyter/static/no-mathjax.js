// backtrack: served in place of MathJax from a CDN (Voila's page asks for it on load).
// The logging form shows no mathematics, so nothing is loaded; the page stays offline.
