// One global for a test page: the basic setup, the editor view and its state.
export { basicSetup, EditorView } from "codemirror";
export { EditorState } from "@codemirror/state";
