"""Rendering a Plan: JSON (the contract), Markdown (terminal and files), HTML."""
