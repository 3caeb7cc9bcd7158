"""The pages: views, the read model of each page, their templates and tags."""
