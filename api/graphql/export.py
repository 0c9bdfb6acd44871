"""Print the schema's SDL: `python -m api.graphql.export > schema.graphql`."""

from api.graphql.schema import sdl

if __name__ == "__main__":
    print(sdl(), end="")
